-- The orders. Items are a JSON array of strings: they are always read and
-- written with their order, never queried on their own. Ids sort bytewise
-- (COLLATE "C"), as in the other stores, so searches stream in the same order.
CREATE TABLE orders (
    id          TEXT COLLATE "C" PRIMARY KEY,
    items       TEXT NOT NULL,
    description TEXT NOT NULL,
    price       DOUBLE PRECISION NOT NULL,
    destination TEXT NOT NULL
);
