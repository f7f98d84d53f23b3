//! `ordermgt-server`: serves ecommerce.OrderManagement on one port.
//!
//! Run: `cargo run --release -p backend` (listens on 127.0.0.1:50051);
//! `ordermgt-server --help` lists the flags and their `ORDERMGT_` environment twins.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use backend::{App, Config};
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// How long open calls get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(std::io::stdout().is_terminal()).init();

    let listener = match TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    let app = App::new(&config);
    tracing::info!(batch_size = %config.batch_size, web_dir = %app.web_dir().display(), "listening on http://{address}");

    let (signalled_tx, signalled_rx) = tokio::sync::watch::channel(false);
    let server = backend::serve(listener, app, async move {
        shutdown_signal().await;
        let _ = signalled_tx.send(true);
    });
    let grace_over = async move {
        let mut signalled = signalled_rx;
        let _ = signalled.wait_for(|signalled| *signalled).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("server failed: {error}");
                ExitCode::FAILURE
            }
        },
        () = grace_over => {
            tracing::warn!("calls still open after {SHUTDOWN_GRACE:?}; exiting anyway");
            ExitCode::SUCCESS
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
