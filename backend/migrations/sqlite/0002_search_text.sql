-- Search in the database: each order's items, lowercased and joined by
-- newlines (written by the server, which lowercases as Rust does), and a
-- trigram index over them, kept in step by triggers. A search for a rare item
-- then reads the few orders that have it, not the whole table. The index keeps
-- which orders hold each trigram, not where (detail = none): a third cheaper
-- to write, and its answers are checked against the text anyway. Rows that
-- predate this column are filled in by the server when it opens the database.
ALTER TABLE orders ADD COLUMN search_text TEXT;

CREATE VIRTUAL TABLE orders_search USING fts5(
    search_text, content = 'orders', content_rowid = 'rowid', tokenize = 'trigram', detail = none, columnsize = 0
);

CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN
    INSERT INTO orders_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN
    INSERT INTO orders_search (orders_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER orders_search_update AFTER UPDATE OF search_text ON orders BEGIN
    INSERT INTO orders_search (orders_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO orders_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
