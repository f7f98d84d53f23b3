//! The rules of an all-or-nothing update, gathered before anything is stored.

use std::collections::HashSet;

use crate::budget::{Budget, Held};
use crate::domain::error::OrderError;
use crate::domain::order::Order;
use crate::domain::store::OrderStore;

/// Most orders one update may replace: an update is held whole in memory
/// until it is applied, so it needs a bound.
pub(crate) const MAX_ORDERS_PER_UPDATE: usize = 10_000;
/// Most bytes of orders one update may hold (by [`Order::weight`]), for the
/// same reason: 10,000 orders of a megabyte each would be 10 GB.
pub(crate) const MAX_BYTES_PER_UPDATE: usize = 64 * 1024 * 1024;

/// The orders of one update, each checked as it arrives, and held in the
/// server's [`Budget`] until the update is applied or abandoned.
#[derive(Debug)]
pub(crate) struct UpdateBatch {
    orders: Vec<Order>,
    ids: HashSet<String>,
    held: Held,
}

impl UpdateBatch {
    pub(crate) fn new(budget: &Budget) -> Self {
        Self { orders: Vec::new(), ids: HashSet::new(), held: budget.none() }
    }

    /// Adds an order to the update, refusing one without an id, an invalid
    /// one, one sent twice, or one too many.
    pub(crate) fn push(&mut self, order: Order) -> Result<(), OrderError> {
        if order.id.is_empty() {
            return Err(OrderError::Invalid {
                id: order.id,
                field: "id",
                problem: "is required to update an order".into(),
            });
        }
        order.validate()?;
        if self.orders.len() == MAX_ORDERS_PER_UPDATE {
            return Err(OrderError::UpdateTooLarge { limit: MAX_ORDERS_PER_UPDATE });
        }
        let weight = order.weight();
        if self.held.bytes() + weight > MAX_BYTES_PER_UPDATE {
            return Err(OrderError::UpdateTooHeavy { limit_mib: MAX_BYTES_PER_UPDATE >> 20, id: order.id });
        }
        if !self.ids.insert(order.id.clone()) {
            return Err(OrderError::DuplicateInUpdate { id: order.id });
        }
        self.held.grow(weight)?;
        self.orders.push(order);
        Ok(())
    }

    /// The ids of the update, in the order they came.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        self.orders.iter().map(|order| order.id.as_str())
    }

    /// Applies the update to the store, all or nothing, and returns the
    /// reply that lists the updated ids.
    pub(crate) async fn apply(self, store: &dyn OrderStore) -> Result<String, OrderError> {
        let reply = format!("Updated orders: {}", self.ids().collect::<Vec<_>>().join(", "));
        store.replace_all(self.orders).await?;
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str) -> Order {
        Order { id: id.into(), price: 1.0, ..Order::default() }
    }

    #[tokio::test]
    async fn applying_replaces_the_orders_and_lists_them() {
        let store = crate::domain::store::MemoryStore::with_orders(crate::domain::store::sample_orders());
        let mut update = UpdateBatch::new(&Budget::unlimited());
        update.push(order("104")).expect("valid");
        update.push(order("102")).expect("valid");
        assert_eq!(update.apply(&store).await.as_deref(), Ok("Updated orders: 104, 102"));
        assert_eq!(store.get("104").await.expect("get").map(|order| order.price), Some(1.0));
    }

    #[test]
    fn an_update_is_bounded_by_bytes_as_well_as_by_orders() {
        let heavy = |id: &str| Order {
            id: id.into(),
            items: vec!["x".repeat(crate::domain::order::MAX_ITEM_LEN); crate::domain::order::MAX_ITEMS],
            price: 1.0,
            ..Order::default()
        };
        let mut update = UpdateBatch::new(&Budget::unlimited());
        let fits = MAX_BYTES_PER_UPDATE / heavy("0").weight();
        for n in 0..fits {
            update.push(heavy(&n.to_string())).expect("under the budget");
        }
        let refused = update.push(heavy("last")).expect_err("past the budget");
        assert!(matches!(&refused, OrderError::UpdateTooHeavy { id, .. } if id == "last"), "{refused:?}");
        assert_eq!(update.ids().count(), fits, "the refused order was not taken");
    }

    #[tokio::test]
    async fn updates_together_are_bounded_by_the_servers_budget_and_give_it_back() {
        let budget = Budget::new(3 * order("100").weight(), crate::metrics::Metrics::default());
        let (mut first, mut second) = (UpdateBatch::new(&budget), UpdateBatch::new(&budget));
        first.push(order("104")).expect("within the budget");
        first.push(order("102")).expect("within the budget");
        second.push(order("103")).expect("within the budget");
        let refused = second.push(order("105")).expect_err("past the budget");
        assert!(matches!(refused, OrderError::ServerFull(_)), "{refused:?}");
        let store = crate::domain::store::MemoryStore::with_orders(crate::domain::store::sample_orders());
        first.apply(&store).await.expect("applied");
        assert_eq!(budget.held(), order("100").weight(), "the applied update gave its bytes back");
        drop(second);
        assert_eq!(budget.held(), 0, "so did the abandoned one");
    }

    #[test]
    fn orders_are_kept_in_the_order_they_came() {
        let mut update = UpdateBatch::new(&Budget::unlimited());
        for id in ["103", "102"] {
            update.push(order(id)).expect("valid");
        }
        assert_eq!(update.ids().collect::<Vec<_>>(), ["103", "102"]);
    }

    #[test]
    fn an_order_without_id_is_refused() {
        let error = UpdateBatch::new(&Budget::unlimited()).push(order("")).expect_err("no id");
        assert!(matches!(error, OrderError::Invalid { field: "id", .. }), "{error:?}");
    }

    #[test]
    fn an_invalid_order_is_refused_naming_its_id() {
        let error =
            UpdateBatch::new(&Budget::unlimited()).push(Order { price: -1.0, ..order("104") }).expect_err("invalid");
        assert_eq!(error.to_string(), "invalid order 104: price must be a finite number of at least 0, got -1");
    }

    #[test]
    fn the_same_id_twice_is_refused() {
        let mut update = UpdateBatch::new(&Budget::unlimited());
        update.push(order("102")).expect("first");
        assert_eq!(update.push(order("102")), Err(OrderError::DuplicateInUpdate { id: "102".into() }));
    }

    #[test]
    fn an_update_is_bounded() {
        let mut update = UpdateBatch::new(&Budget::unlimited());
        for n in 0..MAX_ORDERS_PER_UPDATE {
            update.push(order(&n.to_string())).expect("within the limit");
        }
        assert_eq!(update.push(order("one more")), Err(OrderError::UpdateTooLarge { limit: MAX_ORDERS_PER_UPDATE }));
    }
}
