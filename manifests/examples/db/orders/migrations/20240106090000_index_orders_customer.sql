-- Built without blocking writes: Postgres runs CONCURRENTLY outside a transaction, so this
-- file holds this one statement.
CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);
