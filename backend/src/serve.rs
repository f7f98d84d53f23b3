//! Serving the app on a listener: the one serving loop the binary and the tests share.

use std::future::Future;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::app::App;

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2 cleartext), reporting it
/// healthy, until `shutdown` resolves; then reports it NOT_SERVING, stops
/// accepting, has every open processing stream ship its partial batch and
/// end, and waits for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        // Streamed messages are small: send each at once rather than waiting to fill a packet.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {error}");
        }
    });
    let (health, streams) = (app.health().clone(), app.shutdown().clone());
    health.set_serving(true).await;
    let shutdown = async move {
        shutdown.await;
        health.set_serving(false).await;
        streams.begin();
    };
    axum::serve(listener, app.router()).with_graceful_shutdown(shutdown).await
}
