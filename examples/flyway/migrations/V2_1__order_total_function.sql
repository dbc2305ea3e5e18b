/* Sum of a customer's orders; the body holds semicolons inside dollar quotes. */
CREATE FUNCTION order_total(p_customer bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $body$
DECLARE
  total bigint;
BEGIN
  SELECT coalesce(sum(total_cents), 0) INTO total FROM orders WHERE customer_id = p_customer;
  RETURN total; -- never NULL
END;
$body$;
