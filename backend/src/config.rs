//! The server's settings: command-line flags, each with an `ORDERMGT_` environment twin.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::domain::processing::BatchSize;
use crate::web::hosts::AllowedHost;
use crate::web::origin::AllowedOrigin;

/// The book's port.
pub const DEFAULT_PORT: u16 = 50051;
/// gRPC's customary largest message.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 256;
/// An idle connection costs about 25 KiB outside the byte budget (an idle
/// WebSocket call about 22 KiB): 4,096 of them keep that near 100 MiB, so
/// that the memory bound the README states holds at the cap.
const DEFAULT_MAX_CONNECTIONS: u32 = 4_096;
const DEFAULT_MAX_CALLS: u32 = 4_096;
const DEFAULT_MAX_HELD_BYTES: usize = 192 * 1024 * 1024;
const DEFAULT_MAX_PENDING_IDS: u32 = 256;
const _: () = assert!(DEFAULT_MAX_PENDING_IDS as usize == crate::rpc::sessions::MAX_QUEUED_IDS);
const DEFAULT_MAX_SESSIONS: u32 = 1_024;
/// An idle WebSocket call costs about 22 KiB outside the byte budget, a busy one its window of
/// messages (within the budget): a thousand of them is what a browser-facing server of this size
/// serves, and a quarter of the connection cap.
const DEFAULT_MAX_WEBSOCKET_CALLS: u32 = 1_024;
const _: () = assert!(DEFAULT_MAX_SESSIONS as usize == crate::rpc::sessions::MAX_SESSIONS);

/// ecommerce.OrderManagement over native gRPC and gRPC-Web, on one port.
#[derive(Debug, Clone, Parser)]
#[command(name = "ordermgt-server", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on, for native gRPC (HTTP/2) and gRPC-Web (HTTP/1.1 and HTTP/2) alike.
    #[arg(long, env = "ORDERMGT_LISTEN", value_name = "ADDR", default_value_t = default_listen())]
    pub listen: SocketAddr,

    /// Accepted orders per processOrders batch (1 to 1000).
    #[arg(long, env = "ORDERMGT_BATCH_SIZE", value_name = "N", default_value_t = BatchSize::default())]
    pub batch_size: BatchSize,

    /// An origin (`scheme://host[:port]`) whose pages may call over gRPC-Web, or `*` for any.
    /// Repeatable; the environment twin takes a comma-separated list. Same-origin calls always work.
    #[arg(long = "cors-origin", env = "ORDERMGT_CORS_ORIGIN", value_name = "ORIGIN", value_delimiter = ',')]
    pub cors_origins: Vec<AllowedOrigin>,

    /// A DNS name browsers may reach the server by (its page, gRPC-Web, WebSocket), or `*` for any.
    /// IP addresses and localhost always work; other names are refused, against DNS rebinding.
    /// Repeatable; the environment twin takes a comma-separated list.
    #[arg(long = "allowed-host", env = "ORDERMGT_ALLOWED_HOSTS", value_name = "NAME", value_delimiter = ',')]
    pub allowed_hosts: Vec<AllowedHost>,

    /// The built page to serve at `/` (trunk's `dist/`). By default `dist` in the working
    /// directory, else `dist` of the workspace this binary was built in.
    #[arg(long, env = "ORDERMGT_WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,

    // The brackets are the URL's optional parts in clap's help, not links.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// Where orders are kept: sqlite://PATH, postgres://USER[:PASSWORD]@HOST[:PORT]/DB, or memory: (lost at exit).
    /// By default (or when empty) a SQLite file, orders.db, in --data-dir.
    #[arg(long, env = "ORDERMGT_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// The directory for the default SQLite database.
    #[arg(long, env = "ORDERMGT_DATA_DIR", value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Memory for the read cache of a SQLite store (orders and unknown ids, in bytes; 0: none).
    /// PostgreSQL, which replicas share, is never cached.
    #[arg(long, env = "ORDERMGT_CACHE_BYTES", value_name = "BYTES", default_value_t = DEFAULT_CACHE_BYTES)]
    pub cache_bytes: u64,

    /// How long open calls get to finish after SIGINT or SIGTERM before the rest is cut.
    #[arg(long, env = "ORDERMGT_SHUTDOWN_GRACE", value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub shutdown_grace: Duration,

    /// Log lines for people (`human`) or for log collectors (`json`); the level comes from RUST_LOG.
    #[arg(long, env = "ORDERMGT_LOG_FORMAT", value_name = "FORMAT", default_value = "human")]
    pub log_format: LogFormat,

    /// Gzip the responses of clients that accept it (`grpc-accept-encoding: gzip`). Requests
    /// compressed with gzip are accepted either way.
    #[arg(long, env = "ORDERMGT_COMPRESS_RESPONSES")]
    pub compress_responses: bool,

    /// What one client may take of the server.
    #[command(flatten)]
    pub limits: Limits,

    /// Who may connect, from where, and who may write.
    #[command(flatten)]
    pub security: Security,
}

/// How far one client may go.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct Limits {
    /// Largest message accepted or sent, in bytes; a bigger one fails its call with RESOURCE_EXHAUSTED.
    #[arg(long, env = "ORDERMGT_MAX_MESSAGE_BYTES", value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,

    /// Calls one HTTP/2 connection may have open at once; clients queue the rest.
    #[arg(long, env = "ORDERMGT_MAX_CONCURRENT_STREAMS", value_name = "N", default_value_t = DEFAULT_MAX_CONCURRENT_STREAMS)]
    pub max_concurrent_streams: u32,

    /// Order ids a browser processing session may have waiting unread; more fail with RESOURCE_EXHAUSTED.
    /// (A native processOrders stream needs no such limit: HTTP/2 flow control holds its client back.)
    #[arg(long, env = "ORDERMGT_MAX_PENDING_IDS", value_name = "N", default_value_t = DEFAULT_MAX_PENDING_IDS,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_pending_ids: u32,

    /// Browser processing sessions open at once; more fail with RESOURCE_EXHAUSTED until one closes.
    #[arg(long, env = "ORDERMGT_MAX_SESSIONS", value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,

    /// Longest a unary call may take (a client's shorter grpc-timeout wins); past it, DEADLINE_EXCEEDED.
    #[arg(long, env = "ORDERMGT_REQUEST_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub request_timeout: Duration,

    /// A connection with no call open for this long is closed.
    #[arg(long, env = "ORDERMGT_IDLE_TIMEOUT", value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub idle_timeout: Duration,

    /// Client connections held at once, WebSocket calls included. At the cap, the longest-idle
    /// connection is closed to make room; with none idle, the new one is. Lowered at start to leave
    /// the server a reserve of file descriptors under its limit (raised to the hard limit first).
    #[arg(long, env = "ORDERMGT_MAX_CONNECTIONS", value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Calls served at once over HTTP/2, every connection together (each connection still at most
    /// --max-concurrent-streams); more are answered RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "ORDERMGT_MAX_CALLS", value_name = "N", default_value_t = DEFAULT_MAX_CALLS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_calls: u32,

    /// Calls over WebSocket (the page's full-duplex transport) served at once; past it a new one is
    /// answered RESOURCE_EXHAUSTED and its socket closed (1013, try again later).
    #[arg(long, env = "ORDERMGT_MAX_WEBSOCKET_CALLS", value_name = "N", default_value_t = DEFAULT_MAX_WEBSOCKET_CALLS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_websocket_calls: u32,

    /// Bytes of client data the server holds at once, all calls together: updates being gathered,
    /// orders looked up for processing, search pages, unread WebSocket messages. A call that would
    /// pass it fails with RESOURCE_EXHAUSTED; the others go on.
    #[arg(long, env = "ORDERMGT_MAX_HELD_BYTES", value_name = "BYTES", default_value_t = DEFAULT_MAX_HELD_BYTES)]
    pub max_held_bytes: usize,

    /// The part of --max-held-bytes one connection may hold (a WebSocket call is a connection of
    /// its own), so that one client cannot spend it all. Half of --max-held-bytes by default.
    #[arg(long, env = "ORDERMGT_MAX_HELD_BYTES_PER_CONNECTION", value_name = "BYTES")]
    pub max_held_bytes_per_connection: Option<usize>,
}

impl Limits {
    /// What one connection may hold: `--max-held-bytes-per-connection`, else
    /// half of `--max-held-bytes` (never more than the whole).
    pub fn held_bytes_per_connection(&self) -> usize {
        self.max_held_bytes_per_connection.unwrap_or(self.max_held_bytes / 2).min(self.max_held_bytes)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_pending_ids: DEFAULT_MAX_PENDING_IDS,
            max_sessions: DEFAULT_MAX_SESSIONS,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_calls: DEFAULT_MAX_CALLS,
            max_held_bytes: DEFAULT_MAX_HELD_BYTES,
            max_held_bytes_per_connection: None,
            max_websocket_calls: DEFAULT_MAX_WEBSOCKET_CALLS,
        }
    }
}

/// Who may connect and who may write.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Security")]
pub struct Security {
    /// PEM certificate chain: serve everything over TLS (HTTP/2 or HTTP/1.1 by ALPN). Needs --tls-key.
    #[arg(long, env = "ORDERMGT_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "ORDERMGT_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// A file holding the write token: addOrder and updateOrders (and the page's update) then need
    /// `authorization: Bearer <token>`. Reads stay open.
    #[arg(long, env = "ORDERMGT_WRITE_TOKEN_FILE", value_name = "FILE")]
    pub write_token_file: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
#[expect(missing_docs, reason = "--log-format's help says what each is; docs here would become clap's long help")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

impl Config {
    /// The database to use: `--database-url`, else `orders.db` in `--data-dir`.
    pub fn database_url(&self) -> String {
        if let Some(url) = self.database_url.as_ref().filter(|url| !url.is_empty()) {
            return url.clone();
        }
        let file = self.data_dir.join("orders.db");
        let file = std::path::absolute(&file).unwrap_or(file);
        format!("sqlite://{}?mode=rwc", file.display())
    }
}

/// The read cache of a SQLite store: 64 MiB, a quarter of a million typical orders.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("{error}: write a duration such as 10s, 500ms or 5m"))
}

fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            batch_size: BatchSize::default(),
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            web_dir: None,
            database_url: None,
            data_dir: PathBuf::from("data"),
            cache_bytes: DEFAULT_CACHE_BYTES,
            shutdown_grace: Duration::from_secs(10),
            log_format: LogFormat::Human,
            compress_responses: false,
            limits: Limits::default(),
            security: Security::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("ordermgt-server").chain(args.iter().copied()))
    }

    #[test]
    fn flags_override_the_defaults() {
        let config = parse(&[
            "--listen",
            "0.0.0.0:8080",
            "--batch-size",
            "5",
            "--cors-origin",
            "http://localhost:8080",
            "--cors-origin",
            "https://shop.example",
        ])
        .expect("valid flags");
        assert_eq!(config.listen, "0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(config.batch_size.get(), 5);
        assert_eq!(config.cors_origins.len(), 2);
    }

    #[test]
    fn the_defaults_of_the_flags_are_the_defaults_of_the_type() {
        let parsed = parse(&[]).expect("no flags");
        let default = Config::default();
        assert_eq!(format!("{parsed:?}"), format!("{default:?}"));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        let config = parse(&["--shutdown-grace", "2s", "--request-timeout", "1500ms", "--idle-timeout", "1m"])
            .expect("valid durations");
        assert_eq!(config.shutdown_grace, Duration::from_secs(2));
        assert_eq!(config.limits.request_timeout, Duration::from_millis(1500));
        assert_eq!(config.limits.idle_timeout, Duration::from_secs(60));
        assert!(parse(&["--shutdown-grace", "ten"]).expect_err("refused").to_string().contains("such as 10s"));
    }

    #[test]
    fn a_certificate_needs_its_key() {
        assert!(parse(&["--tls-cert", "cert.pem"]).is_err());
        assert!(parse(&["--tls-cert", "cert.pem", "--tls-key", "key.pem"]).is_ok());
    }

    #[test]
    fn a_batch_size_of_zero_is_refused_with_a_reason() {
        let error = parse(&["--batch-size", "0"]).expect_err("0 refused").to_string();
        assert!(error.contains("at least 1"), "{error}");
    }

    #[test]
    fn an_origin_with_a_path_is_refused() {
        let error = parse(&["--cors-origin", "http://a.example/page"]).expect_err("refused").to_string();
        assert!(error.contains("scheme://host[:port]"), "{error}");
    }
}
