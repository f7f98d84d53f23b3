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

use crate::app::App;
use crate::connection::{self, Connection};
use crate::http2;

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
    let shared = Arc::new(Connection {
        http1,
        http2: http2::Settings::new(limits.max_concurrent_streams, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT),
        first_bytes_timeout: HEADER_READ_TIMEOUT,
        router: app.service(),
        tls: app.tls().cloned(),
        idle_timeout: limits.idle_timeout,
        metrics: app.metrics().clone(),
        closing,
    });

    let (health, streams, websocket_calls) =
        (app.health().clone(), app.shutdown().clone(), app.websocket_calls().clone());
    health.set_serving(true).await;
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(connection::serve(Arc::clone(&shared), tcp, peer));
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

    health.set_serving(false).await;
    drop(listener);
    streams.begin();
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    websocket_calls.close();
    websocket_calls.wait().await;
    Ok(())
}

/// Errors that end one connection attempt, not the listener.
fn is_per_connection(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset)
}
