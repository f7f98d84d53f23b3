//! Orders in a SQL database, SQLite or PostgreSQL, through one sqlx `AnyPool`:
//! the same queries serve both (`$n` placeholders work in each).

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::OrderStore;
use crate::error::OrderError;
use crate::order::Order;

/// Rows a search reads per query: it bounds what a search holds in memory,
/// whatever the size of the table.
const SEARCH_PAGE: i64 = 256;

const COLUMNS: &str = "id, items, description, price, destination";

/// Most ids one `get_many` query names; more are asked in several queries
/// (SQLite allows 32,766 parameters, PostgreSQL 65,535).
const IDS_PER_QUERY: usize = 512;

/// Orders kept in a database; they outlive the process.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// For a SQLite file: the lock that keeps every other server out while this one runs.
    exclusive: Option<Arc<std::fs::File>>,
}

impl SqlStore {
    /// A store over `pool`, whose database is migrated already; `lock` holds
    /// it for this process alone, if it is.
    pub fn new(pool: AnyPool, lock: Option<std::fs::File>) -> Self {
        Self { pool, exclusive: lock.map(Arc::new) }
    }

    /// Whether no one but this process writes the database, so that what it
    /// read stays true until it writes.
    pub fn is_exclusive(&self) -> bool {
        self.exclusive.is_some()
    }

    /// Adds `orders` in one transaction, skipping any whose id is taken: two
    /// servers seeding one new database at once both succeed.
    pub(super) async fn insert_missing(&self, orders: Vec<Order>) -> Result<(), sqlx::Error> {
        let query = format!("INSERT INTO orders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING");
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
        let id = order.id.clone();
        let query = format!("INSERT INTO orders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)");
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

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Order>>, OrderError> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
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
                found.insert(order.id.clone(), order);
            }
        }
        // An id asked twice gets its order twice.
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    fn search(&self, query: &str) -> BoxStream<'static, Result<Order, OrderError>> {
        let pool = self.pool.clone();
        let query = query.to_lowercase();
        // Keyset pages in id order: each read sees the table as it is then, so
        // an order is never streamed twice and orders added meanwhile with
        // later ids are streamed too.
        stream::unfold(Some(String::new()), move |after| {
            let (pool, query) = (pool.clone(), query.clone());
            async move {
                let after = after?;
                match page(&pool, &after).await {
                    Err(error) => Some((stream::iter(vec![Err(error)]), None)),
                    Ok(orders) => {
                        let next = (orders.len() as i64 == SEARCH_PAGE)
                            .then(|| orders.last().map(|order| order.id.clone()))
                            .flatten();
                        let found: Vec<_> = orders.into_iter().filter(|order| order.matches(&query)).map(Ok).collect();
                        Some((stream::iter(found), next))
                    }
                }
            }
        })
        .flatten()
        .boxed()
    }

    async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError> {
        let mut transaction = self.pool.begin().await.map_err(unavailable)?;
        let query = "UPDATE orders SET items = $2, description = $3, price = $4, destination = $5 WHERE id = $1";
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

async fn page(pool: &AnyPool, after: &str) -> Result<Vec<Order>, OrderError> {
    let query = format!("SELECT {COLUMNS} FROM orders WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = sqlx::query(&query).bind(after).bind(SEARCH_PAGE).fetch_all(pool).await.map_err(unavailable)?;
    rows.iter().map(order_from).collect()
}

fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    order: &Order,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let items = serde_json::to_string(&order.items).expect("strings serialize");
    query
        .bind(order.id.clone())
        .bind(items)
        .bind(order.description.clone())
        .bind(f64::from(order.price))
        .bind(order.destination.clone())
}

fn order_from(row: &AnyRow) -> Result<Order, OrderError> {
    let read = || -> Result<Order, sqlx::Error> {
        let items: String = row.try_get("items")?;
        let price: f64 = row.try_get("price")?;
        Ok(Order {
            id: row.try_get("id")?,
            items: serde_json::from_str(&items).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            description: row.try_get("description")?,
            price: price as f32,
            destination: row.try_get("destination")?,
        })
    };
    read().map_err(|error| OrderError::Unavailable(format!("a stored order cannot be read: {error}")))
}

/// Any database failure but a taken id: the store cannot answer now.
fn unavailable(error: sqlx::Error) -> OrderError {
    OrderError::Unavailable(error.to_string())
}
