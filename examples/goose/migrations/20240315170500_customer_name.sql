-- +goose Up
ALTER TABLE customers ADD COLUMN name text;
COMMENT ON COLUMN customers.name IS 'Display name; may be empty.';

-- +goose Down
ALTER TABLE customers DROP COLUMN name;
