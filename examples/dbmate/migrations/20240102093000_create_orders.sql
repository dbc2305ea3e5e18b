-- migrate:up
CREATE TABLE orders (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  status      text NOT NULL DEFAULT 'new' -- new; paid; shipped
);

CREATE INDEX orders_customer_id_idx ON orders (customer_id);

-- migrate:down
DROP TABLE orders;
