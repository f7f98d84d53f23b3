//! An in-memory store: a sorted map behind a read-write lock.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use super::OrderStore;
use crate::domain::error::OrderError;
use crate::domain::order::Order;

/// How many entries a search examines per lock acquisition: it bounds both
/// how long a search holds the lock and how much it buffers.
const SEARCH_CHUNK: usize = 256;
/// About the most bytes of matches one chunk clones.
const SEARCH_CHUNK_BYTES: usize = 1024 * 1024;

type Orders = BTreeMap<String, Order>;

/// Orders kept in memory, sorted by id; lost when the process ends.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    orders: Arc<RwLock<Orders>>,
}

impl MemoryStore {
    /// A store holding these orders.
    pub fn with_orders(orders: impl IntoIterator<Item = Order>) -> Self {
        let orders = orders.into_iter().map(|order| (order.id.clone(), order)).collect();
        Self { orders: Arc::new(RwLock::new(orders)) }
    }

    fn read(&self) -> RwLockReadGuard<'_, Orders> {
        read(&self.orders)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Orders> {
        // A panic elsewhere cannot leave the map half-written: every write
        // below checks first and then mutates without anything that can panic.
        self.orders.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn read(orders: &RwLock<Orders>) -> RwLockReadGuard<'_, Orders> {
    orders.read().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl OrderStore for MemoryStore {
    async fn insert(&self, order: Order) -> Result<(), OrderError> {
        let mut orders = self.write();
        if orders.contains_key(&order.id) {
            return Err(OrderError::AlreadyExists { id: order.id });
        }
        orders.insert(order.id.clone(), order);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Order>, OrderError> {
        Ok(self.read().get(id).cloned())
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Arc<Order>>>, OrderError> {
        let orders = self.read();
        // One copy per order, whatever the times it is asked for.
        let mut copied: std::collections::HashMap<&str, Option<Arc<Order>>> = std::collections::HashMap::new();
        Ok(ids
            .iter()
            .map(|id| copied.entry(id.as_str()).or_insert_with(|| orders.get(id).cloned().map(Arc::new)).clone())
            .collect())
    }

    fn search_pages(&self, query: &str) -> BoxStream<'static, Result<Vec<Order>, OrderError>> {
        let orders = Arc::clone(&self.orders);
        let query = query.to_lowercase();
        stream::unfold(Some(Bound::Unbounded), move |from| {
            let chunk = from.map(|from| search_chunk(&orders, &query, from));
            async move {
                let (found, next) = chunk?;
                Some((Ok(found), next))
            }
        })
        .boxed()
    }

    async fn replace_all(&self, replacements: Vec<Order>) -> Result<(), OrderError> {
        let mut orders = self.write();
        if let Some(unknown) = replacements.iter().find(|order| !orders.contains_key(&order.id)) {
            return Err(OrderError::NotFound { id: unknown.id.clone() });
        }
        for order in replacements {
            orders.insert(order.id.clone(), order);
        }
        Ok(())
    }
}

/// Examines up to `SEARCH_CHUNK` orders after `from`; returns the matches and
/// where to go on from, or `None` once the end of the map is reached.
fn search_chunk(orders: &RwLock<Orders>, query: &str, from: Bound<String>) -> (Vec<Order>, Option<Bound<String>>) {
    let orders = read(orders);
    let mut found = Vec::new();
    let mut last = None;
    let mut examined = 0;
    let mut bytes = 0;
    for (id, order) in orders.range((from, Bound::Unbounded)).take(SEARCH_CHUNK) {
        examined += 1;
        last = Some(id);
        if order.matches(query) {
            found.push(order.clone());
            bytes += order.weight();
            // Large orders: a chunk holds about a megabyte of them, not 256.
            if bytes >= SEARCH_CHUNK_BYTES {
                break;
            }
        }
    }
    let more = examined == SEARCH_CHUNK || bytes >= SEARCH_CHUNK_BYTES;
    let next = more.then(|| Bound::Excluded(last.cloned().unwrap_or_default()));
    (found, next)
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::domain::store::sample_orders;

    fn ids(orders: &[Order]) -> Vec<&str> {
        orders.iter().map(|order| order.id.as_str()).collect()
    }

    async fn search(store: &MemoryStore, query: &str) -> Vec<Order> {
        store.search(query).try_collect().await.expect("search")
    }

    #[tokio::test]
    async fn an_id_can_be_inserted_once() {
        let store = MemoryStore::default();
        let order = Order { id: "1".into(), ..Order::default() };
        store.insert(order.clone()).await.expect("first insert");
        assert_eq!(store.insert(order).await, Err(OrderError::AlreadyExists { id: "1".into() }));
    }

    #[tokio::test]
    async fn search_streams_matches_in_id_order_across_chunks() {
        let many = (0..SEARCH_CHUNK * 3 + 7).map(|n| Order {
            id: format!("{n:05}"),
            items: vec![if n % 2 == 0 { "Even Thing".into() } else { "odd thing".into() }],
            ..Order::default()
        });
        let store = MemoryStore::with_orders(many);
        let even = search(&store, "EVEN").await;
        assert_eq!(even.len(), (SEARCH_CHUNK * 3 + 7).div_ceil(2));
        assert!(even.windows(2).all(|pair| pair[0].id < pair[1].id));
        assert_eq!(search(&store, "").await.len(), SEARCH_CHUNK * 3 + 7);
    }

    #[tokio::test]
    async fn search_reads_the_store_as_it_goes_rather_than_up_front() {
        let store = MemoryStore::with_orders((0..SEARCH_CHUNK * 2).map(|n| Order {
            id: format!("{n:05}"),
            items: vec!["Widget".into()],
            ..Order::default()
        }));
        let mut found = store.search("widget");
        assert_eq!(found.next().await.expect("first").expect("ok").id, "00000");
        let late = Order { id: "99999".into(), items: vec!["Widget".into()], ..Order::default() };
        store.insert(late).await.expect("insert while searching");
        let rest: Vec<Order> = found.try_collect().await.expect("rest");
        assert_eq!(rest.len(), SEARCH_CHUNK * 2);
        assert_eq!(rest.last().map(|order| order.id.as_str()), Some("99999"));
    }

    #[tokio::test]
    async fn search_sees_the_book_orders_by_item() {
        let store = MemoryStore::with_orders(sample_orders());
        assert_eq!(ids(&search(&store, "google").await), ["102", "104"]);
        assert_eq!(ids(&search(&store, "amazon echo").await), ["105", "106"]);
        assert!(search(&store, "no such thing").await.is_empty());
    }

    #[tokio::test]
    async fn replace_all_changes_nothing_when_one_id_is_unknown() {
        let store = MemoryStore::with_orders(sample_orders());
        let changed = Order { id: "102".into(), price: 1.0, ..Order::default() };
        let unknown = Order { id: "999".into(), ..Order::default() };
        assert_eq!(
            store.replace_all(vec![changed.clone(), unknown]).await,
            Err(OrderError::NotFound { id: "999".into() })
        );
        assert_eq!(store.get("102").await.expect("get").map(|order| order.price), Some(1800.0));
        store.replace_all(vec![changed.clone()]).await.expect("replace");
        assert_eq!(store.get("102").await.expect("get"), Some(changed));
    }
}
