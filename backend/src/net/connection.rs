//! One client connection: its TLS handshake, HTTP/1.1 or HTTP/2 by what the
//! client speaks (the HTTP/2 preface, whatever ALPN said), the peer address
//! handed to each call, and closing it when it has sat idle too long or the
//! server shuts down.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::budget::Budget;
use crate::metrics::Metrics;
use crate::net::{http1, http2};
use crate::tls::Tls;
use crate::web::app::Front;
use crate::web::calls::PeerName;
use axum::extract::ConnectInfo;
use bytes::{Buf, Bytes, BytesMut};
use http::Request;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long a client may take to send its first bytes (the HTTP/2 preface or
/// an HTTP/1.1 request line): a connection that says nothing costs a file
/// descriptor, so it is closed within seconds.
pub(crate) const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every HTTP/2 client sends first (RFC 9113, 3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What every connection of one server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) http1: hyper::server::conn::http1::Builder,
    pub(crate) http2: http2::Settings,
    /// How long a client may take to say which HTTP it speaks (and, on HTTP/1.1, to send its headers).
    pub(crate) first_bytes_timeout: Duration,
    pub(crate) router: Front,
    pub(crate) tls: Option<Tls>,
    pub(crate) idle_timeout: Duration,
    pub(crate) metrics: Metrics,
    /// What the server holds of client data, all connections together.
    pub(crate) budget: Budget,
    /// What one connection may hold of it (`--max-held-bytes-per-connection`).
    pub(crate) held_bytes_per_connection: usize,
    /// The HTTP/2 calls open now, on every connection (`--max-calls`).
    pub(crate) open_calls: http2::OpenCalls,
    /// Turns true when the server begins to shut down.
    pub(crate) closing: watch::Receiver<bool>,
}

/// Serves one accepted TCP connection to its end.
pub(crate) async fn serve(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr, activity: Activity) {
    // Streamed messages are small: send each at once rather than waiting to fill a packet.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%peer, "cannot set TCP_NODELAY: {error}");
    }
    // What this connection's calls hold is drawn from a share of the server's budget.
    let budget = shared.budget.share(shared.held_bytes_per_connection);
    match &shared.tls {
        None => serve_http(&shared, tcp, peer, activity, budget).await,
        Some(tls) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(tcp)).await {
            Ok(Ok(tls)) => serve_http(&shared, tls, peer, activity, budget).await,
            Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake took longer than {HANDSHAKE_TIMEOUT:?}"),
        },
    }
}

async fn serve_http<I>(shared: &Shared, mut io: I, peer: SocketAddr, activity: Activity, budget: Budget)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let first = tokio::select! {
        first = tokio::time::timeout(shared.first_bytes_timeout, read_preface(&mut io)) => first,
        () = activity.shed_requested() => return tracing::debug!(%peer, "closing a silent connection to make room"),
    };
    let first = match first {
        Ok(Ok(first)) => first,
        Ok(Err(error)) => return tracing::debug!(%peer, "connection ended before its first request: {error}"),
        Err(_) => {
            return tracing::debug!(%peer, "closing a connection silent for {:?}", shared.first_bytes_timeout);
        }
    };
    let http2 = first.as_ref() == HTTP2_PREFACE;
    let io = Rewind { first, io };
    if http2 {
        http2::serve(shared, io, peer, activity, budget).await;
    } else {
        serve_http1(shared, io, peer, activity, budget).await;
    }
}

/// Reads until the bytes are the HTTP/2 preface or cannot become it.
async fn read_preface<I: AsyncRead + Unpin>(io: &mut I) -> io::Result<Bytes> {
    let mut first = BytesMut::with_capacity(HTTP2_PREFACE.len());
    while first.len() < HTTP2_PREFACE.len() && HTTP2_PREFACE.starts_with(&first) {
        if io.read_buf(&mut first).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(first.freeze())
}

async fn serve_http1<I>(shared: &Shared, io: I, peer: SocketAddr, activity: Activity, budget: Budget)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let (router, activity, peer_name) = (shared.router.clone(), activity.clone(), PeerName::of(peer));
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            parts.extensions.insert(peer_name.clone());
            parts.extensions.insert(budget.clone());
            let busy = activity.begin();
            // A body the call leaves unread comes back, to be drained before the answer goes.
            let (body, unread) = http1::Unread::watch(body);
            let response = router.clone().oneshot(Request::from_parts(parts, body));
            async move {
                let mut response = response.await?;
                if let Some(body) = unread.take()
                    && !http1::drain(body).await
                {
                    response.headers_mut().insert(http::header::CONNECTION, http1::CLOSE);
                }
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
    let connection = shared.http1.serve_connection(TokioIo::new(http1::Lingering::new(io)), service).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut closing = shared.closing.clone();
    let mut winding_down = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    report_http1(&shared.metrics, peer, &error);
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
            () = activity.shed_requested(), if !winding_down => {
                tracing::debug!(%peer, "closing an idle connection to make room for a new one");
                connection.as_mut().graceful_shutdown();
                winding_down = true;
            }
        }
    }
}

/// Logs and counts an HTTP/1.1 connection that ended in error. A client that
/// hangs up between requests is no error; one that sends what is not HTTP,
/// or stops halfway through a message, is.
fn report_http1(metrics: &Metrics, peer: SocketAddr, error: &hyper::Error) {
    let reason = if error.is_parse() || error.is_parse_status() {
        "parse"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_incomplete_message() {
        "incomplete_message"
    } else if error.is_body_write_aborted() || error.is_canceled() || error.is_closed() {
        "closed"
    } else {
        "io"
    };
    metrics.connection_error("http1", if reason == "parse" { "server" } else { "client" }, reason);
    tracing::info!(%peer, reason, "HTTP/1.1 connection ended: {error}");
}

/// The bytes read to tell HTTP/2 from HTTP/1.1, handed back before the rest.
#[derive(Debug)]
struct Rewind<I> {
    first: Bytes,
    io: I,
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.first.has_remaining() {
            let n = self.first.len().min(buf.remaining());
            buf.put_slice(&self.first[..n]);
            self.first.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// How many requests of one connection are in flight (responses included
/// until their last byte is sent), and when that count last changed. Plain
/// atomics: requests pay two increments, and only the idle check looks.
#[derive(Debug, Clone)]
pub(crate) struct Activity(Arc<Counts>);

#[derive(Debug)]
struct Counts {
    open: AtomicUsize,
    /// Milliseconds from `epoch` to the last change of `open`.
    changed_at: AtomicU64,
    epoch: Instant,
    /// Told when the server needs this connection's descriptor back.
    shed: Notify,
}

impl Default for Activity {
    fn default() -> Self {
        Self(Arc::new(Counts {
            open: AtomicUsize::new(0),
            changed_at: AtomicU64::new(0),
            epoch: Instant::now(),
            shed: Notify::new(),
        }))
    }
}

impl Activity {
    pub(crate) fn begin(&self) -> BusyGuard {
        self.0.open.fetch_add(1, Ordering::Relaxed);
        self.touch();
        BusyGuard(self.clone())
    }

    fn touch(&self) {
        let now = u64::try_from(self.0.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.changed_at.store(now, Ordering::Relaxed);
    }

    /// Resolves once the server has asked this connection to close, to make
    /// room for another.
    pub(crate) async fn shed_requested(&self) {
        self.0.shed.notified().await;
    }

    /// Resolves once nothing has been in flight for `period`, checked a few
    /// times per period.
    pub(crate) async fn idle_for(&self, period: Duration) {
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

/// The server's open connections, as the accept loop sees them: enough to
/// find the one that has been idle longest.
#[derive(Debug, Default)]
pub(crate) struct Roster(Vec<Weak<Counts>>);

impl Roster {
    /// Enrols a new connection.
    pub(crate) fn join(&mut self) -> Activity {
        let activity = Activity::default();
        self.0.push(Arc::downgrade(&activity.0));
        activity
    }

    /// Asks the connection idle longest (no call in flight; one that never
    /// sent a byte counts as idle since it opened) to close; whether there
    /// was one. Forgets connections that have closed.
    pub(crate) fn shed_idlest(&mut self) -> bool {
        self.0.retain(|member| member.strong_count() > 0);
        let idlest = self
            .0
            .iter()
            .enumerate()
            .filter_map(|(index, member)| Some((index, member.upgrade()?)))
            .filter(|(_, counts)| counts.open.load(Ordering::Relaxed) == 0)
            .min_by_key(|(_, counts)| counts.epoch + Duration::from_millis(counts.changed_at.load(Ordering::Relaxed)));
        let Some((index, idlest)) = idlest else { return false };
        idlest.shed.notify_one();
        // Not asked twice: it leaves the roster now, and closes as soon as it runs.
        self.0.swap_remove(index);
        true
    }
}

#[derive(Debug)]
pub(crate) struct BusyGuard(Activity);

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
