-- The orders still without search text (written by a server older than
-- migration 2), which the server fills in at start: found through this
-- partial index without a scan, and the index is empty once they are done.
CREATE INDEX orders_search_pending ON orders (id) WHERE search_text IS NULL;
