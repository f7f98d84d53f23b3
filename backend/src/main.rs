//! `ordermgt-server`: serves ecommerce.OrderManagement on one port.
//!
//! Run: `cargo run --release -p backend` (listens on 127.0.0.1:50051);
//! `ordermgt-server --help` lists the flags and their `ORDERMGT_` environment twins.

use std::io::IsTerminal;
use std::process::ExitCode;

use backend::auth::{WriteAccess, WriteToken};
use backend::config::LogFormat;
use backend::logs::{LineFormat, Shape};
use backend::tls::Tls;
use backend::{App, Config};
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// jemalloc, with a thread of its own that gives freed memory back to the
/// system within about a second (options in `.cargo/config.toml`). It
/// measured as fast as mimalloc, which this server used before (a fifth less
/// time in allocation than glibc's malloc under its small, short-lived
/// allocations), and unlike mimalloc it does not keep what a burst of clients
/// freed once the server's threads sit idle (README, "A memory bound").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A line per call, appended to a buffer a thread of its own writes out
    // in batches: calls never wait on the terminal or pipe (see logs.rs).
    let (stdout, _flush_on_exit) = match backend::logs::spawn(std::io::stdout()) {
        Ok(sink) => sink,
        Err(error) => {
            eprintln!("ordermgt-server: cannot start the log writer: {error}");
            return ExitCode::FAILURE;
        }
    };
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(stdout);
    let shape = match config.log_format {
        LogFormat::Human => Shape::Human,
        LogFormat::Json => Shape::Json,
    };
    logs.with_ansi(shape == Shape::Human && std::io::stdout().is_terminal()).event_format(LineFormat(shape)).init();
    if let Err(error) = backend::serve::raise_descriptor_limit() {
        tracing::warn!("cannot raise the limit on open files: {error}");
    }
    // The quick checks first (files, the port), then the database.
    let (tls, write_access) = match security(&config) {
        Ok(security) => security,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let signal = shutdown_signal();
    let listener = match TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let app = match App::open(&config).await {
        Ok(app) => app.with_write_access(write_access),
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let app = match tls {
        Some(tls) => app.with_tls(tls),
        None => app,
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    let scheme = if app.tls().is_some() { "https" } else { "http" };
    let database = backend::store::database::redact(&config.database_url());
    tracing::info!(batch_size = %config.batch_size, web_dir = %app.web_dir().display(), %database, "listening on {scheme}://{address}");
    if !address.ip().is_loopback() {
        if app.tls().is_none() {
            tracing::warn!(
                "listening beyond loopback without TLS: calls and tokens cross the network in clear text (--tls-cert, --tls-key)"
            );
        }
        if !app.write_access().is_restricted() {
            tracing::warn!(
                "listening beyond loopback without a write token: anyone who can connect can change orders (--write-token-file)"
            );
        }
        if config.allowed_hosts.is_empty() {
            tracing::info!(
                "browsers may reach the page by IP address or localhost only; name the server's DNS names with --allowed-host"
            );
        }
    }

    let (signalled_tx, signalled_rx) = tokio::sync::watch::channel(false);
    let server = backend::serve(listener, app, async move {
        signal.await;
        let _ = signalled_tx.send(true);
    });
    let grace = config.shutdown_grace;
    let grace_over = async move {
        let mut signalled = signalled_rx;
        let _ = signalled.wait_for(|signalled| *signalled).await;
        tokio::time::sleep(grace).await;
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
            tracing::warn!("calls still open after the {} grace period; cutting them", humantime::format_duration(grace));
            ExitCode::SUCCESS
        }
    }
}

/// The certificate and write token `config` names, read from their files.
fn security(config: &Config) -> Result<(Option<Tls>, WriteAccess), String> {
    let security = &config.security;
    let tls = match (&security.tls_cert, &security.tls_key) {
        (Some(cert), Some(key)) => Some(backend::tls::load(cert, key).map_err(|error| error.to_string())?),
        _ => None,
    };
    let token = match &security.write_token_file {
        Some(file) => Some(WriteToken::from_file(file).map_err(|error| error.to_string())?),
        None => None,
    };
    Ok((tls, WriteAccess::new(token)))
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when it is first awaited, so a signal sent as soon as the
/// server says it listens is already a clean shutdown.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    };
    async move {
        #[cfg(unix)]
        match handlers {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
