DROP INDEX CONCURRENTLY orders_status_idx;
