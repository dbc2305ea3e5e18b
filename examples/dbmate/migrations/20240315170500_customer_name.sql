-- migrate:up
ALTER TABLE customers ADD COLUMN name text;
COMMENT ON COLUMN customers.name IS 'Display name; may be empty.';

-- migrate:down
ALTER TABLE customers DROP COLUMN name;
