//! Serving the app on a listener: the one accept loop the binary and the tests share.

use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::net::connection::{self, Roster, Shared};
use crate::net::http2;
use crate::net::lanes::Lanes;
use crate::web::app::App;

/// How long a client may take to send an HTTP/1.1 request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 pings on quiet connections find peers that vanished without closing.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2; over TLS if the app has
/// a certificate), reporting it healthy, until `shutdown` resolves; then
/// reports it NOT_SERVING, stops accepting, has every open processing stream
/// ship its partial batch and end, closes each connection once its calls
/// are done, and returns when all are closed, calls over WebSocket included.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = app.limits().clone();
    let mut http1 = http1::Builder::new();
    http1.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let (closing_tx, closing) = watch::channel(false);
    let shared = Arc::new(Shared {
        http1,
        http2: http2::Settings::new(limits.max_concurrent_streams, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT),
        first_bytes_timeout: connection::FIRST_BYTES_TIMEOUT,
        router: app.service(),
        tls: app.tls().cloned(),
        idle_timeout: limits.idle_timeout,
        metrics: app.metrics().clone(),
        budget: app.budget().clone(),
        held_bytes_per_connection: limits.held_bytes_per_connection(),
        open_calls: http2::OpenCalls::new(limits.max_calls as usize),
        closing,
    });

    let (health, streams, websocket_calls) =
        (app.health().clone(), app.shutdown().clone(), app.websocket_calls().clone());
    health.set_serving(true);
    let max_connections = connection_cap(limits.max_connections);
    let metrics = app.metrics().clone();
    let lanes = Lanes::per_core()?;
    let mut roster = Roster::default();
    let mut connections = JoinSet::new();
    let mut last_refusal_logged: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    while connections.try_join_next().is_some() {}
                    // WebSocket calls hold their socket after the HTTP/1.1 connection hands it over.
                    let held = connections.len() + websocket_calls.len();
                    if held >= max_connections {
                        if roster.shed_idlest() {
                            metrics.connection_shed();
                        } else {
                            metrics.connection_refused();
                            if last_refusal_logged.is_none_or(|logged| logged.elapsed() >= Duration::from_secs(10)) {
                                tracing::warn!(%peer, "refusing connections: {held} are open, every one busy (--max-connections {max_connections})");
                                last_refusal_logged = Some(Instant::now());
                            }
                            drop(tcp);
                            continue;
                        }
                    }
                    let (shared, activity) = (Arc::clone(&shared), roster.join());
                    lanes.spawn(&mut connections, tcp, move |tcp| connection::serve(shared, tcp, peer, activity));
                }
                Err(error) if is_per_connection(&error) => {}
                Err(error) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::error!("cannot accept connections: {error}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    health.set_serving(false);
    drop(listener);
    streams.cancel();
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    websocket_calls.close();
    websocket_calls.wait().await;
    Ok(())
}

/// File descriptors kept back from connections, for the database, the log,
/// the page's files and accepting at all.
const DESCRIPTOR_RESERVE: u64 = 256;

/// `configured`, lowered if need be so that connections leave
/// [`DESCRIPTOR_RESERVE`] of the process's descriptor limit.
fn connection_cap(configured: u32) -> usize {
    let configured = u64::from(configured);
    let cap = match rlimit::Resource::NOFILE.get() {
        Ok((soft, _hard)) if soft < configured.saturating_add(DESCRIPTOR_RESERVE) => {
            let lowered = soft.saturating_sub(DESCRIPTOR_RESERVE).max(1);
            tracing::warn!(
                "--max-connections {configured} lowered to {lowered}: the descriptor limit is {soft}, and {DESCRIPTOR_RESERVE} are kept for the server itself"
            );
            lowered
        }
        _ => configured,
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Raises the soft limit on open files to the hard limit, so the server can
/// hold as many connections as the system lets it; the limit now in force.
pub fn raise_descriptor_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Errors that end one connection attempt, not the listener.
fn is_per_connection(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset)
}
