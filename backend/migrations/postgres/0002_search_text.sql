-- Search in the database: each order's items, lowercased and joined by
-- newlines (written by the server, which lowercases as Rust does), and a
-- trigram index over them (pg_trgm, a trusted extension: any user who may
-- create objects in the database may install it). A search for a rare item
-- then reads the few orders that have it, not the whole table. Rows that
-- predate this column are filled in by the server when it opens the database.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE orders ADD COLUMN search_text TEXT;
CREATE INDEX orders_search_text ON orders USING gin (search_text gin_trgm_ops);
