//! Orders that survive: the server binary over SQLite and PostgreSQL,
//! killed, restarted, refused a newer database, run twice on one database,
//! and cut off from its database and back.
//!
//! The PostgreSQL cases need a server: scripts/test.sh starts a throwaway one
//! (scripts/with-postgres.sh) and sets ORDERMGT_TEST_POSTGRES_URL. Without it
//! they say so and pass, unless ORDERMGT_REQUIRE_POSTGRES is set, as the test
//! command sets it.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backend::Config;
use common::binary::{SERVER, Server, start};
use common::order_101;
use ordermgt_proto::Order;
use ordermgt_proto::order_management_client::OrderManagementClient;
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;
use tonic::transport::Channel;

fn postgres() -> Option<String> {
    let url = std::env::var("ORDERMGT_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        assert!(std::env::var_os("ORDERMGT_REQUIRE_POSTGRES").is_none(), "ORDERMGT_TEST_POSTGRES_URL is not set");
        eprintln!("no PostgreSQL (ORDERMGT_TEST_POSTGRES_URL): run scripts/test.sh for these cases");
    }
    url
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordermgt-persist-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

async fn client(url: &str) -> OrderManagementClient<Channel> {
    OrderManagementClient::new(Channel::from_shared(url.to_string()).expect("url").connect().await.expect("connect"))
}

fn kill_hard(child: &mut Child) {
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix: no shutdown, no flush
    child.wait().expect("wait");
}

/// Adds 101 and updates 102, each acknowledged, then kills the server at
/// once; a new server on the same database has both.
async fn acknowledged_writes_survive_sigkill(database_url: &str) {
    let Server { mut child, url, .. } = start(&["--database-url", database_url], &[]);
    let mut orders = client(&url).await;
    orders.add_order(order_101()).await.expect("add acknowledged");
    let repriced = Order { price: 1.5, ..orders.get_order("102".to_string()).await.expect("read").into_inner() };
    orders.update_orders(futures::stream::iter([repriced.clone()])).await.expect("update acknowledged");
    kill_hard(&mut child);

    let Server { mut child, url, .. } = start(&["--database-url", database_url], &[]);
    let mut orders = client(&url).await;
    assert_eq!(orders.get_order("101".to_string()).await.expect("101 survived").into_inner(), order_101());
    assert_eq!(orders.get_order("102".to_string()).await.expect("102 survived").into_inner(), repriced);
    let all = orders.search_orders(String::new()).await.expect("search").into_inner();
    let ids: Vec<String> =
        futures::TryStreamExt::try_collect::<Vec<_>>(all).await.expect("read").into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["101", "102", "103", "104", "105", "106"], "seeded once, not again on restart");
    kill_hard(&mut child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_acknowledged_writes_survive_sigkill() {
    let dir = scratch_dir();
    let url = format!("sqlite://{}?mode=rwc", dir.join("orders.db").display());
    acknowledged_writes_survive_sigkill(&url).await;
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_acknowledged_writes_survive_sigkill() {
    let Some(admin) = postgres() else { return };
    acknowledged_writes_survive_sigkill(&common::new_postgres_database(&admin).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_database_is_a_sqlite_file_in_the_data_dir() {
    let dir = scratch_dir();
    let data_dir = dir.join("data");
    let data_dir = data_dir.to_str().expect("utf-8 path");
    let Server { mut child, url, .. } = start(&["--database-url", "", "--data-dir", data_dir], &[]);
    client(&url).await.add_order(order_101()).await.expect("add");
    kill_hard(&mut child);
    assert!(dir.join("data/orders.db").is_file(), "created on first start");
    let Server { mut child, url, .. } = start(&["--data-dir", data_dir, "--database-url", ""], &[]);
    client(&url).await.get_order("101".to_string()).await.expect("kept");
    kill_hard(&mut child);
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[tokio::test]
async fn a_sqlite_database_serves_one_server_at_a_time() {
    let dir = scratch_dir();
    let data_dir = dir.join("data");
    let data_dir = data_dir.to_str().expect("utf-8 path");
    let Server { mut child, url, .. } = start(&["--database-url", "", "--data-dir", data_dir], &[]);
    let second = Command::new(SERVER)
        .args(["--listen", "127.0.0.1:0", "--database-url", "", "--data-dir", data_dir])
        .output()
        .expect("run a second server");
    assert!(!second.status.success(), "the second server must not start");
    let log = String::from_utf8_lossy(&second.stdout);
    assert!(log.contains("is in use by another ordermgt-server") && log.contains("orders.db.lock"), "{log}");
    client(&url).await.get_order("102".to_string()).await.expect("the first serves on");
    kill_hard(&mut child);
    // Killed, it holds nothing: the next server starts.
    let Server { mut child, url, .. } = start(&["--database-url", "", "--data-dir", data_dir], &[]);
    client(&url).await.get_order("102".to_string()).await.expect("served after the restart");
    kill_hard(&mut child);
    std::fs::remove_dir_all(dir).expect("clean up");
}

/// Orders stored by a server from before searches ran in the database, with
/// no search text, are found once a server of this version has opened it.
async fn orders_from_an_older_server_are_searchable(database_url: &str) {
    use futures::TryStreamExt;
    use sqlx::Connection;
    let store = backend::store::database::open_sql(database_url).await.expect("open");
    drop(store);
    let mut connection = sqlx::AnyConnection::connect(database_url).await.expect("connect");
    let older = "INSERT INTO orders (id, items, description, price, destination) \
                 VALUES ('old-1', '[\"Brass Lantern\"]', '', 1.0, 'Here')";
    sqlx::Executor::execute(&mut connection, older).await.expect("an older server's insert");
    sqlx::Executor::execute(&mut connection, "UPDATE orders SET search_text = NULL WHERE id = '102'")
        .await
        .expect("as an older server left it");
    connection.close().await.expect("close");
    let store = backend::store::database::open_sql(database_url).await.expect("reopen");
    let found: Vec<_> =
        backend::store::OrderStore::search(&store, "brass lantern").try_collect().await.expect("search");
    assert_eq!(found.iter().map(|order| order.id.as_str()).collect::<Vec<_>>(), ["old-1"]);
    let found: Vec<_> = backend::store::OrderStore::search(&store, "google").try_collect().await.expect("search");
    assert_eq!(found.iter().map(|order| order.id.as_str()).collect::<Vec<_>>(), ["102", "104"]);
}

#[tokio::test]
async fn on_sqlite_orders_from_an_older_server_are_searchable() {
    sqlx::any::install_default_drivers();
    let dir = scratch_dir();
    orders_from_an_older_server_are_searchable(&format!("sqlite://{}/orders.db?mode=rwc", dir.display())).await;
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[tokio::test]
async fn on_postgres_orders_from_an_older_server_are_searchable() {
    let Some(admin) = postgres() else { return };
    sqlx::any::install_default_drivers();
    orders_from_an_older_server_are_searchable(&common::new_postgres_database(&admin).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_serve_the_same_orders() {
    let Some(admin) = postgres() else { return };
    let database = common::new_postgres_database(&admin).await;
    let first = start(&["--database-url", &database], &[]);
    let second = start(&["--database-url", &database], &[]);
    client(&first.url).await.add_order(order_101()).await.expect("add through the first");
    let read = client(&second.url).await.get_order("101".to_string()).await.expect("read through the second");
    assert_eq!(read.into_inner(), order_101());
    for Server { mut child, .. } in [first, second] {
        kill_hard(&mut child);
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_alone() {
    let dir = scratch_dir();
    let file = dir.join("orders.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let Server { mut child, .. } = start(&["--database-url", &url], &[]);
    kill_hard(&mut child);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::sqlite::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'from the future', TRUE, x'00', 0)",
        )
        .execute(&mut connection)
        .await
        .expect("pretend a newer server migrated it");
    });
    let output = Command::new(SERVER).args(["--listen", "127.0.0.1:0", "--database-url", &url]).output().expect("run");
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("migrated by a newer ordermgt (it has schema version 99; this build knows up to 3)"), "{log}");
    let (versions, orders) = runtime.block_on(async {
        use sqlx::{Connection, Row};
        let mut connection = sqlx::sqlite::SqliteConnection::connect(&url).await.expect("open");
        let versions = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&mut connection);
        let versions: Vec<i64> = versions.await.expect("read").iter().map(|row| row.get(0)).collect();
        let orders: i64 =
            sqlx::query("SELECT count(*) FROM orders").fetch_one(&mut connection).await.expect("count").get(0);
        (versions, orders)
    });
    assert_eq!((versions, orders), (vec![1, 2, 3, 99], 5), "left as it was");
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    let url = "postgres://shop:s3cret-pw@127.0.0.1:1/orders";
    let output = Command::new(SERVER).args(["--listen", "127.0.0.1:0", "--database-url", url]).output().expect("run");
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("cannot connect to the database postgres://shop:***@127.0.0.1:1/orders"), "{log}");
    assert!(!log.contains("s3cret-pw"), "{log}");
}

/// A TCP relay between the server and PostgreSQL that can be cut and restored.
struct Relay {
    addr: SocketAddr,
    cut: tokio::sync::watch::Sender<bool>,
    /// Connections relayed now.
    open: Arc<AtomicUsize>,
}

impl Relay {
    async fn to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cut = tokio::sync::watch::Sender::new(false);
        let open = Arc::new(AtomicUsize::new(0));
        let (relay_cut, relay_open) = (cut.clone(), Arc::clone(&open));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if *relay_cut.borrow() {
                    continue; // dropped: the connection closes at once
                }
                let (mut cut, open) = (relay_cut.subscribe(), Arc::clone(&relay_open));
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                        tokio::select! { _ = copy => {}, _ = cut.wait_for(|cut| *cut) => {} }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self { addr, cut, open }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }

    /// Cuts the relay and waits, up to 10 s, until it has dropped every connection.
    async fn cut_all(&self) {
        self.set_cut(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.open.load(Ordering::SeqCst) > 0 {
            assert!(tokio::time::Instant::now() < deadline, "the relay still holds connections");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn a_lost_database_makes_calls_unavailable_until_it_returns() {
    let Some(admin) = postgres() else { return };
    let database = common::new_postgres_database(&admin).await;
    let (_, rest) = database.split_once('@').expect("user@host");
    let (host, name) = rest.split_once('/').expect("host/db");
    let relay = Relay::to(host.parse().expect("host:port")).await;
    let through_relay = format!("postgres://postgres@{}/{name}", relay.addr);
    let app =
        backend::App::open(&Config { database_url: Some(through_relay), ..Config::default() }).await.expect("open");
    let server = common::spawn_app(app).await;
    let mut orders = server.client().await;
    orders.get_order("102".to_string()).await.expect("served");

    relay.cut_all().await;
    let lost = orders.get_order("102".to_string()).await.expect_err("the database is gone");
    assert_eq!(lost.code(), Code::Unavailable, "{lost:?}");
    assert!(lost.message().contains("the order store is unavailable"), "{}", lost.message());

    relay.set_cut(false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match orders.get_order("102".to_string()).await {
            Ok(order) => break assert_eq!(order.into_inner().id, "102"),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(tokio::time::Instant::now() < deadline, "never recovered: {status:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
