-- +goose Up
CREATE TABLE invoices (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id  bigint NOT NULL,
  issued_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE invoices;
