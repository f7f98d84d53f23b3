//! Group commit for SQLite: one task writes, and the writes that are waiting
//! when it begins a transaction all go into it.
//!
//! SQLite takes one writer at a time, and each transaction pays its commit
//! (and its share of the search index's upkeep) whole. Writers that each take
//! the write lock in turn run at a few thousand transactions a second; with
//! the adds of 32 callers committed together, each pays a thirty-second of
//! that. Every write is still acknowledged only once its transaction has
//! committed, so an acknowledged write survives SIGKILL exactly as before,
//! and each keeps its own outcome: an add of a taken id is refused alone, an
//! update naming an unknown order is rolled back alone (to a savepoint).

use std::collections::HashSet;

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::sql::{WRITTEN, bind, unavailable};
use crate::domain::error::OrderError;
use crate::domain::order::Order;

/// Most writes one transaction takes.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<(), OrderError>>;

/// A write waiting for its transaction.
#[derive(Debug)]
enum QueuedWrite {
    Insert(Order, Reply),
    ReplaceAll(Vec<Order>, Reply),
}

/// The way to the writing task; it ends when the last of these is dropped.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<QueuedWrite>,
}

impl Writer {
    /// Starts the task that writes to `pool`'s database.
    pub(super) fn spawn(pool: AnyPool) -> Self {
        let (queue, writes) = mpsc::channel(MAX_BATCH);
        tokio::spawn(run(pool, writes));
        Self { queue }
    }

    pub(super) async fn insert(&self, order: Order) -> Result<(), OrderError> {
        self.submit(|reply| QueuedWrite::Insert(order, reply)).await
    }

    pub(super) async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError> {
        self.submit(|reply| QueuedWrite::ReplaceAll(orders, reply)).await
    }

    async fn submit(&self, write: impl FnOnce(Reply) -> QueuedWrite) -> Result<(), OrderError> {
        let (reply, outcome) = oneshot::channel();
        let gone = || OrderError::Unavailable("the database writer has stopped".into());
        self.queue.send(write(reply)).await.map_err(|_| gone())?;
        outcome.await.map_err(|_| gone())?
    }
}

async fn run(pool: AnyPool, mut writes: mpsc::Receiver<QueuedWrite>) {
    while let Some(first) = writes.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        commit(&pool, batch).await;
    }
}

/// Applies `batch` in one transaction and tells each write its outcome once
/// the transaction has committed (or failed, for all of them).
async fn commit(pool: &AnyPool, batch: Vec<QueuedWrite>) {
    let outcomes = apply(pool, &batch).await;
    let outcomes: Vec<Result<(), OrderError>> = match outcomes {
        Ok(outcomes) => outcomes,
        Err(error) => batch.iter().map(|_| Err(error.clone())).collect(),
    };
    for (write, outcome) in batch.into_iter().zip(outcomes) {
        let reply = match write {
            QueuedWrite::Insert(_, reply) | QueuedWrite::ReplaceAll(_, reply) => reply,
        };
        // A caller that left (its call cancelled) no longer waits for the answer.
        let _ = reply.send(outcome);
    }
}

async fn apply(pool: &AnyPool, batch: &[QueuedWrite]) -> Result<Vec<Result<(), OrderError>>, OrderError> {
    let mut transaction = pool.begin().await.map_err(unavailable)?;
    // The adds first, in one statement; then the updates. The writes of one
    // batch were all waiting at once, none acknowledged before another was
    // sent, so any order among them is one they could have had.
    let inserts: Vec<&Order> = batch
        .iter()
        .filter_map(|write| match write {
            QueuedWrite::Insert(order, _) => Some(order),
            QueuedWrite::ReplaceAll(..) => None,
        })
        .collect();
    let mut inserted: HashSet<String> = HashSet::new();
    for chunk in inserts.chunks(MAX_BATCH) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 6 + 1;
                format!("(${}, ${}, ${}, ${}, ${}, ${})", first, first + 1, first + 2, first + 3, first + 4, first + 5)
            })
            .collect();
        let statement = format!(
            "INSERT INTO orders ({WRITTEN}) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            rows.join(", ")
        );
        let query = chunk.iter().fold(sqlx::query(&statement), |query, order| bind(query, order));
        let returned = query.fetch_all(&mut *transaction).await.map_err(unavailable)?;
        for row in &returned {
            inserted.insert(sqlx::Row::try_get::<String, _>(row, 0).map_err(unavailable)?);
        }
    }
    let update = "UPDATE orders SET items = $2, description = $3, price = $4, destination = $5, search_text = $6 \
                  WHERE id = $1";
    let mut outcomes = Vec::with_capacity(batch.len());
    for write in batch {
        let outcome = match write {
            // Stored once: the first add of an id in the batch, if the id was free.
            QueuedWrite::Insert(order, _) => match inserted.remove(&order.id) {
                true => Ok(()),
                false => Err(OrderError::AlreadyExists { id: order.id.clone() }),
            },
            QueuedWrite::ReplaceAll(orders, _) => {
                // All or nothing, alone: undone to its savepoint if an order is unknown.
                sqlx::query("SAVEPOINT replace_all").execute(&mut *transaction).await.map_err(unavailable)?;
                let mut unknown = None;
                for order in orders {
                    let updated =
                        bind(sqlx::query(update), order).execute(&mut *transaction).await.map_err(unavailable)?;
                    if updated.rows_affected() == 0 {
                        unknown = Some(order.id.clone());
                        break;
                    }
                }
                if unknown.is_some() {
                    sqlx::query("ROLLBACK TO replace_all").execute(&mut *transaction).await.map_err(unavailable)?;
                }
                sqlx::query("RELEASE replace_all").execute(&mut *transaction).await.map_err(unavailable)?;
                match unknown {
                    Some(id) => Err(OrderError::NotFound { id }),
                    None => Ok(()),
                }
            }
        };
        outcomes.push(outcome);
    }
    transaction.commit().await.map_err(unavailable)?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::store::{OrderStore, database};

    fn order(id: &str, item: &str) -> Order {
        Order { id: id.into(), items: vec![item.into()], ..Order::default() }
    }

    #[tokio::test]
    async fn one_transaction_keeps_each_writes_own_outcome() {
        let dir = std::env::temp_dir().join(format!("ordermgt-writer-{}", std::process::id()));
        let store = database::open_sql(&format!("sqlite://{}/orders.db?mode=rwc", dir.display())).await.expect("open");
        let (mut replies, mut outcomes) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let (reply, outcome) = oneshot::channel();
            replies.push(reply);
            outcomes.push(outcome);
        }
        let mut replies = replies.into_iter();
        let mut next = || replies.next().expect("a reply");
        let batch = vec![
            QueuedWrite::Insert(order("new", "Fresh"), next()),
            QueuedWrite::Insert(order("102", "Taken"), next()),
            QueuedWrite::ReplaceAll(vec![order("103", "Changed")], next()),
            QueuedWrite::ReplaceAll(vec![order("104", "Never"), order("nope", "Nothing")], next()),
            QueuedWrite::Insert(order("new", "Twice"), next()),
        ];
        commit(&store.pool, batch).await;
        let mut results = Vec::new();
        for outcome in outcomes {
            results.push(outcome.await.expect("answered"));
        }
        assert_eq!(
            results,
            [
                Ok(()),
                Err(OrderError::AlreadyExists { id: "102".into() }),
                Ok(()),
                Err(OrderError::NotFound { id: "nope".into() }),
                Err(OrderError::AlreadyExists { id: "new".into() }),
            ]
        );
        let item = |id: &'static str| {
            let store = store.clone();
            async move { store.get(id).await.expect("get").map(|order| order.items[0].clone()) }
        };
        assert_eq!(item("new").await.as_deref(), Some("Fresh"));
        assert_eq!(item("103").await.as_deref(), Some("Changed"));
        assert_eq!(item("104").await.as_deref(), Some("Google Home Mini"), "rolled back to its savepoint alone");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
