//! Orders in a SQL database, SQLite or PostgreSQL, through one sqlx `AnyPool`:
//! the same queries serve both (`$n` placeholders work in each), but for
//! search, which each does with its own index ([`super::sql_search`]).

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::OrderStore;
use crate::domain::error::OrderError;
use crate::domain::order::Order;

pub(super) const COLUMNS: &str = "id, items, description, price, destination";
pub(super) const WRITTEN: &str = "id, items, description, price, destination, search_text";

/// Most ids one `get_many` query names; more are asked in several queries
/// (SQLite allows 32,766 parameters, PostgreSQL 65,535).
const IDS_PER_QUERY: usize = 512;

/// Which database a store speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, the default: a file under `--data-dir`.
    Sqlite,
    /// PostgreSQL, from a `postgres://` URL.
    Postgres,
}

/// Orders kept in a database; they outlive the process.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(super) pool: AnyPool,
    pub(super) dialect: Dialect,
    /// SQLite's writes, committed in groups by a task of their own.
    writer: Option<super::sql_writer::Writer>,
    /// For a SQLite file: the lock that keeps every other server out while this one runs.
    exclusive: Option<Arc<std::fs::File>>,
    /// Reads that may take a while (search pages, lookups of several orders)
    /// share all but one of the pool's connections: a single order's read or
    /// a write always finds one, however many searches and processing streams
    /// a client keeps busy.
    bulk: Arc<tokio::sync::Semaphore>,
}

impl SqlStore {
    /// A store over `pool`, whose database is migrated already; `lock` holds
    /// it for this process alone, if it is.
    pub fn new(pool: AnyPool, dialect: Dialect, lock: Option<std::fs::File>) -> Self {
        let writer = (dialect == Dialect::Sqlite).then(|| super::sql_writer::Writer::spawn(pool.clone()));
        let bulk = usize::try_from(pool.options().get_max_connections()).unwrap_or(1).saturating_sub(1).max(1);
        let bulk = Arc::new(tokio::sync::Semaphore::new(bulk));
        Self { pool, dialect, writer, exclusive: lock.map(Arc::new), bulk }
    }

    /// Waits for a turn at a long read (see `bulk`); hold it while querying.
    pub(super) async fn bulk_read(&self) -> Result<tokio::sync::SemaphorePermit<'_>, OrderError> {
        self.bulk.acquire().await.map_err(|_| OrderError::Unavailable("the store is closing".into()))
    }

    /// Whether no one but this process writes the database, so that what it
    /// read stays true until it writes.
    pub fn is_exclusive(&self) -> bool {
        self.exclusive.is_some()
    }

    /// Fills in the search text of orders an older server wrote; how many.
    pub(super) async fn backfill_search_text(&self) -> Result<u64, sqlx::Error> {
        super::sql_search::backfill(self).await
    }

    /// Adds `orders` in one transaction, skipping any whose id is taken: two
    /// servers seeding one new database at once both succeed.
    pub async fn insert_missing(&self, orders: Vec<Order>) -> Result<(), sqlx::Error> {
        let query =
            format!("INSERT INTO orders ({WRITTEN}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING");
        let mut transaction = self.pool.begin().await?;
        for order in &orders {
            bind(sqlx::query(&query), order).execute(&mut *transaction).await?;
        }
        transaction.commit().await
    }
}

#[async_trait]
impl OrderStore for SqlStore {
    async fn insert(&self, order: Order) -> Result<(), OrderError> {
        if let Some(writer) = &self.writer {
            return writer.insert(order).await;
        }
        let id = order.id.clone();
        let query = format!("INSERT INTO orders ({WRITTEN}) VALUES ($1, $2, $3, $4, $5, $6)");
        match bind(sqlx::query(&query), &order).execute(&self.pool).await {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(OrderError::AlreadyExists { id }),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Order>, OrderError> {
        let query = format!("SELECT {COLUMNS} FROM orders WHERE id = $1");
        let row = sqlx::query(&query).bind(id).fetch_optional(&self.pool).await.map_err(unavailable)?;
        row.map(|row| order_from(&row)).transpose()
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Arc<Order>>>, OrderError> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        let _turn = self.bulk_read().await?;
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let query = format!("SELECT {COLUMNS} FROM orders WHERE id IN ({})", placeholders.join(", "));
            let rows = chunk
                .iter()
                .fold(sqlx::query(&query), |query, id| query.bind(id.as_str()))
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
            for row in &rows {
                let order = order_from(row)?;
                found.insert(order.id.clone(), Arc::new(order));
            }
        }
        // An id asked twice gets its order twice.
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    fn search_pages(&self, query: &str) -> BoxStream<'static, Result<Vec<Order>, OrderError>> {
        super::sql_search::search(self.clone(), query.to_lowercase())
    }

    async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError> {
        if let Some(writer) = &self.writer {
            return writer.replace_all(orders).await;
        }
        let mut transaction = self.pool.begin().await.map_err(unavailable)?;
        let query = "UPDATE orders SET items = $2, description = $3, price = $4, destination = $5, search_text = $6 \
                     WHERE id = $1";
        for order in &orders {
            let updated = bind(sqlx::query(query), order).execute(&mut *transaction).await.map_err(unavailable)?;
            if updated.rows_affected() == 0 {
                // Dropping the transaction rolls back what it changed.
                return Err(OrderError::NotFound { id: order.id.clone() });
            }
        }
        transaction.commit().await.map_err(unavailable)
    }
}

/// Binds an order's columns, in [`WRITTEN`]'s order, to `$1`..`$6`.
pub(super) fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    order: &Order,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let items = serde_json::to_string(&order.items).unwrap_or_else(|_| "[]".into());
    query
        .bind(order.id.clone())
        .bind(items)
        .bind(order.description.clone())
        .bind(f64::from(order.price))
        .bind(order.destination.clone())
        .bind(order.search_text())
}

/// The order in a row of [`COLUMNS`].
pub(super) fn order_from(row: &AnyRow) -> Result<Order, OrderError> {
    let read = || -> Result<Order, sqlx::Error> {
        let items: String = row.try_get("items")?;
        let price: f64 = row.try_get("price")?;
        Ok(Order {
            id: row.try_get("id")?,
            items: serde_json::from_str(&items).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            description: row.try_get("description")?,
            #[expect(
                clippy::cast_possible_truncation,
                reason = "the column holds an f32 widened: narrowing it is exact"
            )]
            price: price as f32,
            destination: row.try_get("destination")?,
        })
    };
    read().map_err(|error| OrderError::Unavailable(format!("a stored order cannot be read: {error}")))
}

/// Any database failure but a taken id: the store cannot answer now.
pub(super) fn unavailable(error: sqlx::Error) -> OrderError {
    OrderError::Unavailable(error.to_string())
}
