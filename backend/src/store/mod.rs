//! Where orders live: the interface the RPC code talks to, and its implementations.

mod cached;
pub mod database;
mod memory;
mod seed;
mod sql;
mod sql_search;
mod sql_writer;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::OrderError;
use crate::order::Order;

pub use cached::CachedStore;
pub use memory::MemoryStore;
pub use seed::sample_orders;
pub use sql::{Dialect, SqlStore};

/// A place to keep orders, safe to share between concurrent calls.
///
/// The RPC code only ever sees this trait, so a persistent store can take the
/// in-memory one's place without touching it.
#[async_trait]
pub trait OrderStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new order under its (non-empty) id; `AlreadyExists` if the id is taken.
    async fn insert(&self, order: Order) -> Result<(), OrderError>;

    /// The order with this id, if there is one.
    async fn get(&self, id: &str) -> Result<Option<Order>, OrderError>;

    /// The orders with these ids, in the same order (`None` for an unknown
    /// one), read at once: one query however many ids are asked for.
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Order>>, OrderError>;

    /// Every order with an item containing `query` (ignoring case), in id
    /// order, found as the stream is read rather than collected up front.
    fn search(&self, query: &str) -> BoxStream<'static, Result<Order, OrderError>>;

    /// Replaces every given order, or none: `NotFound` naming the first
    /// unknown id leaves the store as it was.
    async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError>;
}
