//! Serving a router on a listener: the one serving loop the binary and the tests share.

use std::future::Future;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

/// Serves `router` on `listener` (HTTP/1.1 and HTTP/2 cleartext) until
/// `shutdown` resolves, then until open connections finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        // Streamed messages are small: send each at once rather than waiting to fill a packet.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {error}");
        }
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
