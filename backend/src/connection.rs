//! One client connection: its TLS handshake, HTTP/1.1 or HTTP/2 by what the
//! client speaks, the peer address handed to each call, and closing it when
//! it has sat idle too long or the server shuts down.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::tls::Tls;
use axum::Router;
use axum::extract::ConnectInfo;
use http::Request;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection of one server shares.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) http: auto::Builder<TokioExecutor>,
    pub(crate) router: Router,
    pub(crate) tls: Option<Tls>,
    pub(crate) idle_timeout: Duration,
    /// Turns true when the server begins to shut down.
    pub(crate) closing: watch::Receiver<bool>,
}

/// Serves one accepted TCP connection to its end.
pub(crate) async fn serve(shared: Arc<Connection>, tcp: TcpStream, peer: SocketAddr) {
    // Streamed messages are small: send each at once rather than waiting to fill a packet.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%peer, "cannot set TCP_NODELAY: {error}");
    }
    match &shared.tls {
        None => serve_http(&shared, tcp, peer).await,
        Some(tls) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(tcp)).await {
            Ok(Ok(tls)) => serve_http(&shared, tls, peer).await,
            Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake took longer than {HANDSHAKE_TIMEOUT:?}"),
        },
    }
}

async fn serve_http<I>(shared: &Connection, io: I, peer: SocketAddr)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::default();
    let service = {
        let (router, activity) = (shared.router.clone(), activity.clone());
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = activity.begin();
            let response = router.clone().oneshot(request);
            async move {
                let response = response.await?;
                // The guard lives, and the connection stays busy, until the body is done.
                let body = |body: axum::body::Body| {
                    axum::body::Body::new(body.map_frame(move |frame| {
                        let _busy = &busy;
                        frame
                    }))
                };
                Ok::<_, Infallible>(response.map(body))
            }
        })
    };
    let connection = shared.http.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let mut closing = shared.closing.clone();
    let mut winding_down = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, "connection ended: {error}");
                }
                return;
            }
            _ = closing.wait_for(|closing| *closing), if !winding_down => {
                connection.as_mut().graceful_shutdown();
                winding_down = true;
            }
            () = activity.idle_for(shared.idle_timeout), if !winding_down => {
                tracing::debug!(%peer, "closing a connection idle for {:?}", shared.idle_timeout);
                connection.as_mut().graceful_shutdown();
                winding_down = true;
            }
        }
    }
}

/// How many requests of one connection are in flight (responses included
/// until their last byte is sent), and when that count last changed. Plain
/// atomics: requests pay two increments, and only the idle check looks.
#[derive(Debug, Clone)]
struct Activity(Arc<Counts>);

#[derive(Debug)]
struct Counts {
    open: AtomicUsize,
    /// Milliseconds from `epoch` to the last change of `open`.
    changed_at: AtomicU64,
    epoch: Instant,
}

impl Default for Activity {
    fn default() -> Self {
        Self(Arc::new(Counts { open: AtomicUsize::new(0), changed_at: AtomicU64::new(0), epoch: Instant::now() }))
    }
}

impl Activity {
    fn begin(&self) -> BusyGuard {
        self.0.open.fetch_add(1, Ordering::Relaxed);
        self.touch();
        BusyGuard(self.clone())
    }

    fn touch(&self) {
        let now = u64::try_from(self.0.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.changed_at.store(now, Ordering::Relaxed);
    }

    /// Resolves once nothing has been in flight for `period`, checked a few
    /// times per period.
    async fn idle_for(&self, period: Duration) {
        let check_every = (period / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        loop {
            tokio::time::sleep(check_every).await;
            let changed_at = Duration::from_millis(self.0.changed_at.load(Ordering::Relaxed));
            let quiet_for = self.0.epoch.elapsed().saturating_sub(changed_at);
            if self.0.open.load(Ordering::Relaxed) == 0 && quiet_for >= period {
                return;
            }
        }
    }
}

#[derive(Debug)]
struct BusyGuard(Activity);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        (self.0).0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_idle_only_after_its_last_request_has_been_quiet_for_the_period() {
        let activity = Activity::default();
        let busy = activity.begin();
        let idle = activity.idle_for(Duration::from_secs(5));
        let mut idle = std::pin::pin!(idle);
        assert!(tokio::time::timeout(Duration::from_secs(60), idle.as_mut()).await.is_err(), "idle while busy");
        drop(busy);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let again = activity.begin();
        drop(again);
        let started = tokio::time::Instant::now();
        idle.await;
        assert!(started.elapsed() >= Duration::from_secs(5), "the second request restarts the period");
    }
}
