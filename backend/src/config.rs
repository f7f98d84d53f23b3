//! The server's settings: command-line flags, each with an `ORDERMGT_` environment twin.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

use crate::origin::AllowedOrigin;
use crate::processing::BatchSize;

/// The book's port.
pub const DEFAULT_PORT: u16 = 50051;

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

    /// An origin (scheme://host[:port]) whose pages may call over gRPC-Web, or `*` for any.
    /// Repeatable; the environment twin takes a comma-separated list. Same-origin calls always work.
    #[arg(long = "cors-origin", env = "ORDERMGT_CORS_ORIGIN", value_name = "ORIGIN", value_delimiter = ',')]
    pub cors_origins: Vec<AllowedOrigin>,

    /// The built page to serve at `/` (trunk's `dist/`). By default `dist` in the working
    /// directory, else `dist` of the workspace this binary was built in.
    #[arg(long, env = "ORDERMGT_WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))
}

impl Default for Config {
    fn default() -> Self {
        Self { listen: default_listen(), batch_size: BatchSize::default(), cors_origins: Vec::new(), web_dir: None }
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
