//! The rows of a search, shared rather than copied.
//!
//! The page's reducer clones its state on every action, and a search of
//! 100,000 orders arrives as hundreds of batches: rows held in one `Vec`
//! would be copied whole for each, O(n²). Here they are held in chunks, one
//! per batch, each shared (`Rc`): a clone of the state copies one pointer,
//! and appending a batch copies the list of chunks, not the orders.

use std::rc::Rc;

use ordermgt_proto::Order;

#[derive(Clone, Debug, Default)]
pub(crate) struct Rows {
    /// The batches, in the order they came, with the index of each one's first row.
    chunks: Rc<Vec<(usize, Rc<[Order]>)>>,
    len: usize,
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `batch` at the end: the orders are moved in once and never copied again.
    pub(crate) fn append(&mut self, batch: Vec<Order>) {
        if batch.is_empty() {
            return;
        }
        let added = batch.len();
        let mut chunks = Vec::with_capacity(self.chunks.len() + 1);
        chunks.extend(self.chunks.iter().cloned());
        chunks.push((self.len, Rc::from(batch)));
        self.chunks = Rc::new(chunks);
        self.len += added;
    }

    /// Rows `start..start + count` (fewer at the end), in order.
    pub(crate) fn range(&self, start: usize, count: usize) -> impl Iterator<Item = &Order> {
        // The chunk holding `start`: the last whose first row is at or before it.
        let first = self.chunks.partition_point(|(begins, _)| *begins <= start).saturating_sub(1);
        self.chunks[first..]
            .iter()
            .flat_map(|(begins, chunk)| chunk.iter().enumerate().map(move |(offset, order)| (begins + offset, order)))
            .skip_while(move |(index, _)| *index < start)
            .take(count)
            .map(|(_, order)| order)
    }
}

/// The same rows: the same chunks, not merely equal orders (comparing 100,000 orders on every
/// render would cost what sharing saves).
impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && Rc::ptr_eq(&self.chunks, &other.chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(ids: std::ops::Range<usize>) -> Vec<Order> {
        ids.map(|n| Order { id: n.to_string(), ..Order::default() }).collect()
    }

    fn ids<'a>(orders: impl Iterator<Item = &'a Order>) -> Vec<String> {
        orders.map(|order| order.id.clone()).collect()
    }

    #[test]
    fn batches_read_back_as_one_list_in_order() {
        let mut rows = Rows::default();
        rows.append(orders(0..3));
        rows.append(Vec::new());
        rows.append(orders(3..4));
        rows.append(orders(4..9));
        assert_eq!(rows.len(), 9);
        assert_eq!(ids(rows.range(0, usize::MAX)), (0..9).map(|n| n.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn a_range_crosses_batches_and_stops_at_the_end() {
        let mut rows = Rows::default();
        for start in (0..250).step_by(7) {
            rows.append(orders(start..(start + 7).min(250)));
        }
        assert_eq!(ids(rows.range(0, 3)), ["0", "1", "2"]);
        assert_eq!(ids(rows.range(5, 4)), ["5", "6", "7", "8"], "across two batches");
        assert_eq!(ids(rows.range(100, 100)).len(), 100);
        assert_eq!(ids(rows.range(100, 100)).first().map(String::as_str), Some("100"));
        assert_eq!(ids(rows.range(248, 10)), ["248", "249"]);
        assert!(ids(rows.range(250, 10)).is_empty());
    }

    #[test]
    fn a_clone_shares_the_orders_and_an_append_leaves_the_clone_alone() {
        let mut rows = Rows::default();
        rows.append(orders(0..2));
        let before = rows.clone();
        assert_eq!(rows, before);
        rows.append(orders(2..3));
        assert_ne!(rows, before);
        assert_eq!(before.len(), 2);
        assert_eq!(ids(before.range(0, usize::MAX)), ["0", "1"]);
    }
}
