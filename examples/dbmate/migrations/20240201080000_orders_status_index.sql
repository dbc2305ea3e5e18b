-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);

-- migrate:down
DROP INDEX CONCURRENTLY orders_status_idx;
