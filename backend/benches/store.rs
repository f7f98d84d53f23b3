//! The order stores measured on their own, without the network: point reads
//! (through sqlx's `Any` driver, as the server reads, against the typed SQLite
//! and PostgreSQL pools), the read cache in front of SQLite, a batch of ids in
//! one query against one query each, and a search for a rare item in a large
//! table, in the database against the table read whole.
//!
//! Run: `cargo bench -p backend --bench store` (SQLite and memory); set
//! `ORDERMGT_BENCH_POSTGRES_URL=postgres://...` (a database the bench may fill)
//! for PostgreSQL too, and `ORDERMGT_BENCH_ORDERS` (default 1,000,000) for the
//! size of the search table. Figures are printed as a markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::order::Order;
use backend::store::{CachedStore, MemoryStore, OrderStore, database, sample_orders};
use futures::TryStreamExt;
use sqlx::Row;

const READ_FOR: Duration = Duration::from_secs(3);
const CONCURRENCY: usize = 32;

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let orders: usize = std::env::var("ORDERMGT_BENCH_ORDERS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("ordermgt-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let sqlite_url = format!("sqlite://{}/orders.db?mode=rwc", dir.display());
    println!("| store | measure | figure |\n| --- | --- | --- |");

    let memory: Arc<dyn OrderStore> = Arc::new(MemoryStore::with_orders(sample_orders()));
    report("memory", "getOrder reads/s (32 tasks)", reads(memory.clone()).await);
    let sqlite = Arc::new(database::open_sql(&sqlite_url).await.expect("open sqlite"));
    report("SQLite, Any pool (the server's driver)", "getOrder reads/s (32 tasks)", reads(sqlite.clone()).await);
    let typed = sqlx::sqlite::SqlitePoolOptions::new().max_connections(4).connect(&sqlite_url).await.expect("typed");
    report("SQLite, typed pool", "getOrder reads/s (32 tasks)", typed_reads(typed.clone()).await);
    let cached: Arc<dyn OrderStore> = Arc::new(CachedStore::new((*sqlite).clone(), 64 << 20));
    report("SQLite + read cache (the default)", "getOrder reads/s (32 tasks)", reads(cached).await);
    report("SQLite, Any pool", "3 ids: one query each, lookups/s", three_by_three(sqlite.clone(), false).await);
    report("SQLite, Any pool", "3 ids: one query for all, lookups/s", three_by_three(sqlite.clone(), true).await);
    search(&sqlite, "SQLite (FTS5 trigram)", orders).await;

    if let Ok(url) = std::env::var("ORDERMGT_BENCH_POSTGRES_URL") {
        let postgres = Arc::new(database::open_sql(&url).await.expect("open postgres"));
        report(
            "PostgreSQL, Any pool (the server's driver)",
            "getOrder reads/s (32 tasks)",
            reads(postgres.clone()).await,
        );
        let typed = sqlx::postgres::PgPoolOptions::new().max_connections(16).connect(&url).await.expect("typed");
        report("PostgreSQL, typed pool", "getOrder reads/s (32 tasks)", pg_typed_reads(typed).await);
        report(
            "PostgreSQL, Any pool",
            "3 ids: one query each, lookups/s",
            three_by_three(postgres.clone(), false).await,
        );
        report(
            "PostgreSQL, Any pool",
            "3 ids: one query for all, lookups/s",
            three_by_three(postgres.clone(), true).await,
        );
        search(&postgres, "PostgreSQL (pg_trgm)", orders).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn report(store: &str, measure: &str, figure: String) {
    println!("| {store} | {measure} | {figure} |");
}

/// How many operations `op` completes in [`READ_FOR`] from [`CONCURRENCY`] tasks, per second.
async fn rate<F, Fut>(op: F) -> String
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let deadline = Instant::now() + READ_FOR;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    op().await;
                    done += 1;
                    // An answer from memory never waits, so never yields: let the others run.
                    tokio::task::consume_budget().await;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    format!("{:.0}", total as f64 / READ_FOR.as_secs_f64())
}

async fn reads(store: Arc<dyn OrderStore>) -> String {
    rate(move || {
        let store = store.clone();
        async move {
            if let Err(error) = store.get("102").await {
                panic!("get: {error}")
            }
        }
    })
    .await
}

async fn typed_reads(pool: sqlx::SqlitePool) -> String {
    rate(move || {
        let pool = pool.clone();
        async move {
            let row = sqlx::query("SELECT id, items, description, price, destination FROM orders WHERE id = ?")
                .bind("102")
                .fetch_one(&pool)
                .await
                .expect("get");
            decode(row.get("id"), row.get("items"), row.get("description"), row.get("price"), row.get("destination"));
        }
    })
    .await
}

async fn pg_typed_reads(pool: sqlx::PgPool) -> String {
    rate(move || {
        let pool = pool.clone();
        async move {
            let row = sqlx::query("SELECT id, items, description, price, destination FROM orders WHERE id = $1")
                .bind("102")
                .fetch_one(&pool)
                .await
                .expect("get");
            decode(row.get("id"), row.get("items"), row.get("description"), row.get("price"), row.get("destination"));
        }
    })
    .await
}

/// The order of a row, as the store decodes it.
fn decode(id: String, items: String, description: String, price: f64, destination: String) -> Order {
    let items = serde_json::from_str(&items).expect("items");
    Order { id, items, description, price: price as f32, destination }
}

async fn three_by_three(store: Arc<dyn OrderStore>, together: bool) -> String {
    let ids: Vec<String> = ["102", "103", "104"].map(String::from).to_vec();
    rate(move || {
        let (store, ids) = (store.clone(), ids.clone());
        async move {
            if together {
                store.get_many(&ids).await.expect("get_many");
            } else {
                for id in &ids {
                    store.get(id).await.expect("get");
                }
            }
        }
    })
    .await
}

/// Fills the store to `orders` orders (one with a rare item) and searches for
/// that item: in the database, and by reading the whole table as before.
async fn search(store: &backend::store::SqlStore, name: &str, orders: usize) {
    let existing = store.search("").try_fold(0usize, |count, _| async move { Ok(count + 1) }).await.expect("count");
    if existing < orders {
        let started = Instant::now();
        let mut batch = Vec::with_capacity(10_000);
        for n in existing..orders {
            let rare = n == orders / 2;
            let items = if rare { vec!["Rare Ruby Lamp".into()] } else { vec![format!("Widget {}", n % 100)] };
            batch.push(Order { id: format!("bench-{n:08}"), items, price: 1.0, ..Order::default() });
            if batch.len() == 10_000 {
                store.insert_missing(std::mem::take(&mut batch)).await.expect("fill");
            }
        }
        store.insert_missing(batch).await.expect("fill");
        eprintln!("{name}: {} orders added in {:.1} s", orders - existing, started.elapsed().as_secs_f64());
    }
    let started = Instant::now();
    let found: Vec<Order> = store.search("ruby lamp").try_collect().await.expect("search");
    let pushed = started.elapsed();
    let started = Instant::now();
    let mut whole = 0usize;
    let mut matched = 0usize;
    let mut all = store.search("");
    while let Some(order) = all.try_next().await.expect("scan") {
        whole += 1;
        if order.matches("ruby lamp") {
            matched += 1;
        }
    }
    let scanned = started.elapsed();
    report(
        name,
        &format!("search for a rare item among {orders} orders, in the database"),
        format!("{:.2} ms, {} found", pushed.as_secs_f64() * 1e3, found.len()),
    );
    report(
        name,
        &format!("the same by reading the table whole ({whole} rows)"),
        format!("{:.0} ms, {matched} found", scanned.as_secs_f64() * 1e3),
    );
}
