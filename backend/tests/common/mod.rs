//! What every integration test shares: a real server on an ephemeral port.
#![allow(dead_code, unreachable_pub)]

pub mod binary;
pub mod grpc_web;
pub mod websocket;

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use backend::store::{MemoryStore, OrderStore, database, sample_orders};
use backend::{App, Config};
use ordermgt_proto::order_management_client::OrderManagementClient;
use ordermgt_proto::{CombinedShipment, Order};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// A server serving [`App::router`] on `127.0.0.1:0`, stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub app: App,
    shutdown: Option<oneshot::Sender<()>>,
}

pub async fn spawn() -> TestServer {
    spawn_with(Config::default()).await
}

pub async fn spawn_with(config: Config) -> TestServer {
    spawn_app(app(config).await).await
}

/// An app over the store the suite runs against (see [`store`]).
pub async fn app(config: Config) -> App {
    App::with_store(&config, store().await)
}

/// A fresh store holding the book's orders, of the kind `ORDERMGT_TEST_DATABASE`
/// names: unset or `memory` for the in-memory store, `sqlite` for a new SQLite
/// file, or a PostgreSQL URL whose server gets a new database per store.
/// scripts/test.sh runs the suite once with each.
pub async fn store() -> Arc<dyn OrderStore> {
    let kind = std::env::var("ORDERMGT_TEST_DATABASE").unwrap_or_default();
    let url = match kind.as_str() {
        "" | "memory" => return Arc::new(MemoryStore::with_orders(sample_orders())),
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("ordermgt-test-{}", std::process::id()));
            let file = dir.join(format!("{}.db", unique_name()));
            format!("sqlite://{}?mode=rwc", file.display())
        }
        postgres => new_postgres_database(postgres).await,
    };
    // As the server opens it: a SQLite file locked for this process and read through its cache.
    database::open(&url, backend::config::DEFAULT_CACHE_BYTES)
        .await
        .unwrap_or_else(|error| panic!("open the test database: {error}"))
}

/// A new, empty database on the PostgreSQL server `admin_url` points at; its URL.
pub async fn new_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = unique_name();
    let mut admin = sqlx::postgres::PgConnection::connect(admin_url).await.expect("connect to the test PostgreSQL");
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE \"{name}\"").as_str()).await.expect("create database");
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    format!("{base}/{name}")
}

fn unique_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Serves `app` as it is, for apps with a certificate or a write token.
pub async fn spawn_app(app: App) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("local address");
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(backend::serve(listener, app.clone(), async {
        let _ = stopped.await;
    }));
    TestServer { addr, app, shutdown: Some(shutdown) }
}

impl TestServer {
    /// Starts the server's graceful shutdown, as SIGTERM does the binary's.
    pub fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A native gRPC client over its own HTTP/2 connection.
    pub async fn client(&self) -> OrderManagementClient<Channel> {
        let channel = Channel::from_shared(self.url()).expect("url").connect().await.expect("connect");
        OrderManagementClient::new(channel)
    }

    /// What `/metrics` says of `name` (a series without labels), 0 if absent.
    pub fn metric_value(&self, name: &str) -> f64 {
        sample(&self.app.metrics().encode(), name).unwrap_or(0.0)
    }

    /// The sum of the `series` counters whose labels include every one of `labels`.
    fn counted(&self, series: &str, labels: &[String]) -> u64 {
        let (text, open) = (self.app.metrics().encode(), format!("{series}{{"));
        let lines =
            text.lines().filter(|line| line.starts_with(&open) && labels.iter().all(|label| line.contains(label)));
        lines.filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>() as u64
    }

    /// How many calls of `method` the server has begun (`grpc_server_started_total`).
    pub fn started(&self, method: &str) -> u64 {
        self.counted("grpc_server_started_total", &[format!("grpc_method=\"{method}\"")])
    }

    /// Waits, up to 10 s, for the server to begin a call of `method`.
    pub async fn wait_for_started(&self, method: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.started(method) == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the server never began a {method} call");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many calls of `method` ended with `code` (`OK`, `Canceled`...), as `grpc_server_handled_total` counts them.
    pub fn handled(&self, method: &str, code: &str) -> u64 {
        let labels = [format!("grpc_method=\"{method}\""), format!("grpc_code=\"{code}\"")];
        self.counted("grpc_server_handled_total", &labels)
    }

    /// Waits, up to 10 s, for a call of `method` to be counted as ended with `code`.
    pub async fn wait_for_handled(&self, method: &str, code: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.handled(method, code) == 0 {
            let all = self.app.metrics().encode();
            let counted: Vec<&str> =
                all.lines().filter(|line| line.contains(method) && line.starts_with("grpc_server_handled")).collect();
            assert!(tokio::time::Instant::now() < deadline, "no {method} call ended {code}; counted: {counted:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits, up to 10 s, for the count of open `processOrders` calls to become `expected`.
    pub async fn wait_for_open_streams(&self, expected: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.app.open_process_streams() != expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "open streams stayed at {} instead of {expected}",
                self.app.open_process_streams()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The order the book's client adds before it processes orders.
pub fn order_101() -> Order {
    Order {
        id: "101".into(),
        items: vec!["iPhone XS".into(), "Mac Book Pro".into()],
        description: "Sample order description.".into(),
        price: 2300.0,
        destination: "San Jose, CA".into(),
    }
}

/// A shipment as `(destination, order ids)`, for compact assertions.
pub fn summary(shipment: &CombinedShipment) -> (String, Vec<String>) {
    (shipment.destination.clone(), shipment.orders_list.iter().map(|order| order.id.clone()).collect())
}

pub fn shipped(destination: &str, ids: &[&str]) -> (String, Vec<String>) {
    (destination.to_string(), ids.iter().map(|id| id.to_string()).collect())
}

/// What the server at `addr` reports for the metric `name` at `GET /metrics`.
pub async fn metric(addr: SocketAddr, name: &str) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response);
    sample(&text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// A native gRPC request for `path` (`/package.Service/Method`) on a raw
/// HTTP/2 connection, its messages to follow as DATA.
pub fn grpc_request(addr: SocketAddr, path: &str) -> http::Request<()> {
    http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request")
}

/// The value of `series` (a metric's name and any labels) in an exposition of `/metrics`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}
