//! A read cache in front of a store that this process alone writes.
//!
//! Only safe where no one else changes the rows: the server holds its SQLite
//! file under an exclusive lock ([`super::database`]), so every change goes
//! through here. PostgreSQL is shared by replicas and never gets one: a
//! replica could not know what another wrote, and no read may be stale.
//!
//! Unknown ids are cached too (as absent), so a stream of ids that do not
//! exist costs no query after the first of each. The cache is bounded in
//! bytes and evicts by S3-FIFO (quick_cache), which a scan of cold ids does
//! not flush.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::stream::BoxStream;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::OrderStore;
use crate::domain::error::OrderError;
use crate::domain::order::Order;

/// What the cache holds for an id: its order, or that there is none.
type Entry = Option<Arc<Order>>;

/// A store's reads served from memory once seen; its writes go through to the
/// store first and update the cache after they commit.
#[derive(Debug)]
pub struct CachedStore<S> {
    inner: S,
    cache: Cache<String, Entry, Bytes>,
    /// Bumped by every write, under this lock, after it commits. A read that
    /// missed caches what it read only if no write ended meanwhile: else it
    /// might put back what the write has just replaced.
    writes: Mutex<u64>,
}

impl<S: OrderStore> CachedStore<S> {
    /// `inner` behind a cache of about `capacity_bytes` of orders.
    pub fn new(inner: S, capacity_bytes: u64) -> Self {
        // quick_cache wants an estimate of the entries; orders of ~256 bytes.
        let estimated = usize::try_from(capacity_bytes / 256).unwrap_or(usize::MAX).clamp(16, 1 << 22);
        Self { inner, cache: Cache::with_weighter(estimated, capacity_bytes.max(1), Bytes), writes: Mutex::new(0) }
    }

    fn writes(&self) -> std::sync::MutexGuard<'_, u64> {
        self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Caches what a read found, unless a write ended since `seen` writes.
    fn fill(&self, seen: u64, found: impl IntoIterator<Item = (String, Entry)>) {
        let writes = self.writes();
        if *writes == seen {
            for (id, entry) in found {
                self.cache.insert(id, entry);
            }
        }
    }

    /// After a write: the new state of `ids` (or, if the write's outcome is
    /// not known, their entries dropped so the next read asks the store).
    fn written(&self, changed: impl IntoIterator<Item = (String, Option<Entry>)>) {
        let mut writes = self.writes();
        *writes += 1;
        for (id, entry) in changed {
            match entry {
                Some(entry) => self.cache.insert(id, entry),
                None => {
                    self.cache.remove(&id);
                }
            }
        }
    }
}

#[async_trait]
impl<S: OrderStore> OrderStore for CachedStore<S> {
    async fn insert(&self, order: Order) -> Result<(), OrderError> {
        let id = order.id.clone();
        let kept = Arc::new(order.clone());
        let result = self.inner.insert(order).await;
        match &result {
            Ok(()) => self.written([(id, Some(Some(kept)))]),
            // Taken (the cache may not know it yet), or not known whether stored: ask the store next.
            Err(_) => self.written([(id, None)]),
        }
        result
    }

    async fn get(&self, id: &str) -> Result<Option<Order>, OrderError> {
        if let Some(entry) = self.cache.get(id) {
            return Ok(entry.map(|order| Order::clone(&order)));
        }
        let seen = *self.writes();
        let found = self.inner.get(id).await?;
        self.fill(seen, [(id.to_string(), found.clone().map(Arc::new))]);
        Ok(found)
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Arc<Order>>>, OrderError> {
        let mut answers: Vec<Option<Option<Arc<Order>>>> = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            let cached = self.cache.get(id.as_str());
            if cached.is_none() {
                missing.push(id.clone());
            }
            answers.push(cached);
        }
        if missing.is_empty() {
            return Ok(answers.into_iter().map(Option::flatten).collect());
        }
        let seen = *self.writes();
        let found = self.inner.get_many(&missing).await?;
        self.fill(seen, missing.iter().cloned().zip(found.iter().cloned()));
        let mut found = missing.into_iter().zip(found);
        Ok(answers
            .into_iter()
            .map(|answer| match answer {
                Some(cached) => cached,
                // Misses were asked in the order they appear.
                None => found.next().and_then(|(_, order)| order),
            })
            .collect())
    }

    fn search_pages(&self, query: &str) -> BoxStream<'static, Result<Vec<Order>, OrderError>> {
        self.inner.search_pages(query)
    }

    async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError> {
        let kept: Vec<(String, Entry)> =
            orders.iter().map(|order| (order.id.clone(), Some(Arc::new(order.clone())))).collect();
        let result = self.inner.replace_all(orders).await;
        match &result {
            Ok(()) => self.written(kept.into_iter().map(|(id, entry)| (id, Some(entry)))),
            // All or nothing: on NotFound nothing changed; on other failures the
            // commit may or may not have happened. Either way, ask the store next.
            Err(_) => self.written(kept.into_iter().map(|(id, _)| (id, None))),
        }
        result
    }
}

/// Weighs an entry by the bytes it holds, roughly.
#[derive(Debug, Clone, Copy)]
struct Bytes;

impl Weighter<String, Entry> for Bytes {
    fn weight(&self, id: &String, entry: &Entry) -> u64 {
        let order = entry.as_deref().map_or(0, |order| {
            order.id.len()
                + order.description.len()
                + order.destination.len()
                + order.items.iter().map(|item| item.len() + 24).sum::<usize>()
                + 128
        });
        (id.len() + 64 + order) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::store::{MemoryStore, sample_orders};

    fn cached() -> (CachedStore<MemoryStore>, MemoryStore) {
        let inner = MemoryStore::with_orders(sample_orders());
        (CachedStore::new(inner.clone(), 1 << 20), inner)
    }

    #[tokio::test]
    async fn reads_after_the_first_are_served_from_memory() {
        let (store, inner) = cached();
        assert_eq!(store.get("102").await.expect("get").map(|order| order.id), Some("102".into()));
        assert_eq!(store.get("999").await.expect("get"), None);
        // Changed behind the cache's back (which the lock file prevents for real):
        // the cache answers, proving it was not asked.
        inner.replace_all(vec![Order { id: "102".into(), price: 1.0, ..Order::default() }]).await.expect("replace");
        inner.insert(Order { id: "999".into(), ..Order::default() }).await.expect("insert");
        assert_eq!(store.get("102").await.expect("get").map(|order| order.price), Some(1800.0));
        assert_eq!(store.get("999").await.expect("get"), None);
    }

    #[tokio::test]
    async fn writes_through_the_cache_are_read_back_at_once() {
        let (store, _) = cached();
        assert_eq!(store.get("200").await.expect("get"), None);
        let added = Order { id: "200".into(), items: vec!["Widget".into()], ..Order::default() };
        store.insert(added.clone()).await.expect("insert");
        assert_eq!(store.get("200").await.expect("get"), Some(added));
        let changed = Order { id: "102".into(), price: 5.0, ..Order::default() };
        store.get("102").await.expect("warm");
        store.replace_all(vec![changed.clone()]).await.expect("replace");
        assert_eq!(
            store.get_many(&["102".into(), "200".into(), "0".into()]).await.expect("get_many")[0].as_deref(),
            Some(&changed)
        );
    }

    #[tokio::test]
    async fn a_refused_update_leaves_what_is_cached_true() {
        let (store, _) = cached();
        let before = store.get("102").await.expect("get");
        let changed = Order { id: "102".into(), price: 5.0, ..Order::default() };
        let unknown = Order { id: "999".into(), ..Order::default() };
        assert!(store.replace_all(vec![changed, unknown]).await.is_err());
        assert_eq!(store.get("102").await.expect("get"), before);
    }

    #[tokio::test]
    async fn get_many_mixes_hits_and_misses_in_the_order_asked() {
        let (store, _) = cached();
        store.get("103").await.expect("warm");
        let ids: Vec<String> = ["104", "103", "nope", "104"].map(String::from).to_vec();
        let found: Vec<Option<String>> = store
            .get_many(&ids)
            .await
            .expect("get_many")
            .into_iter()
            .map(|order| order.map(|o| o.id.clone()))
            .collect();
        assert_eq!(found, [Some("104".into()), Some("103".into()), None, Some("104".into())]);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_cached() {
        let (store, _) = cached();
        let seen = *store.writes();
        store.written([("102".to_string(), Some(Some(Arc::new(Order { id: "102".into(), ..Order::default() }))))]);
        // The read began before the write ended: what it read may be the old row.
        store.fill(seen, [("102".to_string(), None)]);
        assert!(store.cache.get("102").expect("cached").is_some(), "the write's value stands");
    }
}
