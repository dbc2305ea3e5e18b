-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION invoice_number(inv bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'INV-' || lpad(inv::text, 8, '0');
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION invoice_number(bigint);
