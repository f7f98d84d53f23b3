-- The orders. Items are a JSON array of strings: they are always read and
-- written with their order, never queried on their own.
CREATE TABLE orders (
    id          TEXT PRIMARY KEY NOT NULL,
    items       TEXT NOT NULL,
    description TEXT NOT NULL,
    price       DOUBLE PRECISION NOT NULL,
    destination TEXT NOT NULL
);
