//! HTTP/2 connections, served with h2 directly.
//!
//! hyper serves HTTP/2 well, but it returns a request's flow-control credit
//! as soon as a DATA frame is read and does not expose h2's budget for small
//! frames; so a `processOrders` client that puts each id in a frame of its own
//! (every gRPC library does) and outruns the server had its connection closed
//! with ENHANCE_YOUR_CALM. Here each request body is drained from h2 as it
//! arrives ([`request_body`]) and credited back as the application reads it:
//! such a client is held back by flow control and never disconnected.
//!
//! Where the line against abuse lies: h2 still closes a connection whose
//! unread small frames exceed [`DATA_FRAME_BUDGET`] (about 256 bytes each), a
//! whole connection window of 5-byte frames. No gRPC client can reach it with
//! whole messages (the smallest message is 5 bytes), and the drain keeps h2's
//! own queue near empty anyway; a peer that slices messages into smaller
//! frames still can. The rapid-reset guards (resets of streams not yet
//! accepted, and streams this server resets for protocol errors) keep h2's
//! and hyper's defaults.

mod open_calls;
mod request_body;
mod response;

pub(crate) use open_calls::OpenCalls;

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use h2::server::SendResponse;
use h2::{Ping, Reason};
use http::Request;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::Service;

use crate::budget::Budget;
use crate::metrics::Metrics;
use crate::net::connection::{Activity, Shared};
use crate::web::app::Front;
use crate::web::calls::PeerName;

/// Flow-control windows: what a client may send ahead of the server's reading.
const STREAM_WINDOW: u32 = 1024 * 1024;
const CONNECTION_WINDOW: u32 = 1024 * 1024;
/// h2's budget for the bookkeeping of small DATA frames it holds unread: one
/// connection window of 5-byte frames (the smallest gRPC message), at h2's
/// reckoning of 256 bytes less the payload per frame.
const DATA_FRAME_BUDGET: usize = (CONNECTION_WINDOW as usize / 5) * (256 - 5);
const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;
/// What a stream may queue for sending beyond what the socket has taken: a
/// client that stops reading its socket leaves this much per stream in the
/// server (h2's default, 400 KiB, would be 100 MiB for 256 streams).
pub(crate) const MAX_SEND_BUFFER: usize = 64 * 1024;
/// Streams this server resets for protocol errors before it closes the connection.
const MAX_LOCAL_ERROR_RESETS: usize = 1024;

/// The HTTP/2 settings every connection of one server shares.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    builder: h2::server::Builder,
    keepalive_interval: Duration,
    keepalive_timeout: Duration,
}

impl Settings {
    pub(crate) fn new(max_concurrent_streams: u32, keepalive_interval: Duration, keepalive_timeout: Duration) -> Self {
        let mut builder = h2::server::Builder::new();
        builder
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_concurrent_streams(max_concurrent_streams)
            .max_header_list_size(MAX_HEADER_LIST_SIZE)
            .max_send_buffer_size(MAX_SEND_BUFFER)
            .max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESETS))
            .data_frame_budget(DATA_FRAME_BUDGET);
        Self { builder, keepalive_interval, keepalive_timeout }
    }
}

/// Serves one HTTP/2 connection (its preface not yet read) to its end:
/// until the client leaves, it fails, or, once `shared` says the server is
/// closing or the connection has idled too long, its calls are done.
///
/// A connection's calls run on the connection's own task rather than one
/// task each: the responses of the requests that arrived together are
/// written together, in one write, and no call waits to be scheduled on
/// another thread. (Connections still spread over the runtime's threads.)
pub(crate) async fn serve<I>(shared: &Shared, io: I, peer: SocketAddr, activity: Activity, budget: Budget)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let settings = &shared.http2;
    let mut connection = match settings.builder.handshake::<_, Bytes>(io).await {
        Ok(connection) => connection,
        Err(error) => return report(&shared.metrics, peer, &error),
    };
    let mut calls = FuturesUnordered::new();
    // One router a connection, not one a call: each clone touches the
    // reference counts the server's threads share.
    let mut router = shared.router.clone();
    let peer_name = PeerName::of(peer);
    let mut pings = connection.ping_pong();
    let mut ping_due = tokio::time::Instant::now() + settings.keepalive_interval;
    let mut awaiting_pong = false;
    let mut closing = shared.closing.clone();
    let mut winding_down = false;
    loop {
        tokio::select! {
            biased;
            ended = poll_fn(|cx| drive(&mut connection, &mut calls, cx, |request, respond| {
                // Boxed where it is made: a call's state is about 2 KiB, and
                // FuturesUnordered would otherwise copy it whole on the way in.
                let call = Box::pin(serve_stream(shared, &mut router, request, respond, (peer, peer_name.clone()), &budget));
                let busy = activity.begin();
                async move {
                    call.await;
                    drop(busy);
                }
            })) => {
                if let Err(error) = ended {
                    report(&shared.metrics, peer, &error);
                }
                return;
            }
            () = tokio::time::sleep_until(ping_due), if pings.is_some() => {
                let Some(ping) = pings.as_mut() else { continue };
                if awaiting_pong {
                    shared.metrics.connection_error("h2", "server", "keepalive_timeout");
                    tracing::info!(%peer, "closing an HTTP/2 connection: no answer to a ping in {:?}", settings.keepalive_timeout);
                    connection.abrupt_shutdown(Reason::NO_ERROR);
                    pings = None;
                    continue;
                }
                if ping.send_ping(Ping::opaque()).is_ok() {
                    awaiting_pong = true;
                    ping_due = tokio::time::Instant::now() + settings.keepalive_timeout;
                }
            }
            _ = poll_fn(|cx| pings.as_mut().map_or(Poll::Pending, |ping| ping.poll_pong(cx))), if awaiting_pong => {
                awaiting_pong = false;
                ping_due = tokio::time::Instant::now() + settings.keepalive_interval;
            }
            _ = closing.wait_for(|closing| *closing), if !winding_down => {
                connection.graceful_shutdown();
                winding_down = true;
            }
            () = activity.idle_for(shared.idle_timeout), if !winding_down => {
                tracing::debug!(%peer, "closing a connection idle for {:?}", shared.idle_timeout);
                connection.graceful_shutdown();
                winding_down = true;
            }
            () = activity.shed_requested(), if !winding_down => {
                tracing::debug!(%peer, "closing an idle connection to make room for a new one");
                connection.graceful_shutdown();
                winding_down = true;
            }
        }
    }
}

/// Moves the connection and its calls on as far as they go: accepts every
/// request that has arrived, runs the calls, and polls the connection again
/// so that what they wrote goes out, until nothing moves. Ready when the
/// connection has closed: cleanly, or with the error that closed it.
fn drive<T, F, C>(
    connection: &mut h2::server::Connection<T, Bytes>,
    calls: &mut FuturesUnordered<C>,
    cx: &mut Context<'_>,
    mut call: F,
) -> Poll<Result<(), h2::Error>>
where
    T: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Request<h2::RecvStream>, SendResponse<Bytes>) -> C,
    C: Future<Output = ()>,
{
    loop {
        let mut moved = false;
        loop {
            match connection.poll_accept(cx) {
                Poll::Ready(Some(Ok((request, respond)))) => {
                    calls.push(call(request, respond));
                    moved = true;
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(error)),
                // Closed: the calls are over, or the connection is gone under them.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => break,
            }
        }
        while let Poll::Ready(Some(())) = calls.poll_next_unpin(cx) {
            moved = true;
        }
        if !moved {
            return Poll::Pending;
        }
    }
}

/// One request: handed to `router` at once, and its answer sent back while
/// the request's DATA is drained from h2.
fn serve_stream<'a>(
    shared: &'a Shared,
    router: &mut Front,
    request: Request<h2::RecvStream>,
    respond: SendResponse<Bytes>,
    (peer, peer_name): (SocketAddr, PeerName),
    budget: &'a Budget,
) -> impl Future<Output = ()> + Send + use<'a> {
    let routed = shared.open_calls.open().map(|open| {
        let (mut parts, recv) = request.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        parts.extensions.insert(peer_name);
        parts.extensions.insert(budget.clone());
        let (body, drain) = request_body::split(recv, budget);
        // The front door is always ready (it says so): no need to ask.
        (open, router.call(Request::from_parts(parts, body)), drain)
    });
    async move {
        match routed {
            Some((_open, routed, drain)) => answer(shared, routed, drain, respond, peer, budget).await,
            None => refuse(shared, respond, peer, budget).await,
        }
    }
}

/// Sends the answer `routed` makes, while `drain` moves the request's DATA out of h2.
async fn answer(
    shared: &Shared,
    routed: <Front as tower::Service<Request<request_body::RequestBody>>>::Future,
    drain: request_body::Drain,
    mut respond: SendResponse<Bytes>,
    peer: SocketAddr,
    budget: &Budget,
) {
    let mut drain = std::pin::pin!(drain);
    let mut drained = false;
    // Until the answer begins, a client's reset drops the call at once, before
    // it can read the end of its request as a half-close (see
    // `request_body::stream_failed`); the call is counted Canceled.
    let mut routed = std::pin::pin!(routed);
    let response = loop {
        tokio::select! {
            biased;
            reset = std::future::poll_fn(|cx| respond.poll_reset(cx)) => {
                return report_answer(shared, peer, Err(response::reset_of(reset)));
            }
            () = &mut drain, if !drained => drained = true,
            response = &mut routed => match response {
                Ok(response) => break response,
                Err(infallible) => match infallible {},
            },
        }
    };
    let answer = response::send(&mut respond, response, budget);
    let mut answer = std::pin::pin!(answer);
    let sent = loop {
        tokio::select! {
            biased;
            () = &mut drain, if !drained => drained = true,
            sent = &mut answer => break sent,
        }
    };
    report_answer(shared, peer, sent);
}

/// Logs and counts how the answer to a call ended, if not as it should.
fn report_answer(shared: &Shared, peer: SocketAddr, sent: Result<(), response::Unsent>) {
    let metrics = &shared.metrics;
    match sent {
        Ok(()) => {}
        Err(response::Unsent::Reset(reason)) => {
            if reason != Reason::CANCEL && reason != Reason::NO_ERROR {
                metrics.stream_reset("client", reason_name(reason));
                tracing::info!(%peer, "the client reset a stream: {}", reason_name(reason));
            }
        }
        Err(response::Unsent::Stream(error)) => {
            if !error.is_go_away() && !error.is_io() {
                let reason = error.reason().map_or("other", reason_name);
                metrics.stream_reset(if error.is_remote() { "client" } else { "server" }, reason);
                tracing::info!(%peer, "an HTTP/2 stream failed: {error}");
            }
        }
        Err(response::Unsent::Body) => {
            metrics.stream_reset("server", "INTERNAL_ERROR");
        }
        Err(response::Unsent::Full) => {
            metrics.stream_reset("server", "ENHANCE_YOUR_CALM");
            tracing::info!(%peer, "reset a stream its client was not reading: the server holds all it may (--max-held-bytes)");
        }
    }
}

/// Answers a call past `--max-calls`: RESOURCE_EXHAUSTED, at once, naming
/// the flag (a gRPC-Web client reads the same headers-only answer).
async fn refuse(shared: &Shared, mut respond: SendResponse<Bytes>, peer: SocketAddr, budget: &Budget) {
    let limit = shared.open_calls.limit();
    shared.metrics.call_refused();
    tracing::debug!(%peer, "refused a call: the server serves {limit} at once (--max-calls)");
    let status = tonic::Status::resource_exhausted(format!(
        "the server already serves {limit} calls, as many as it may at once (--max-calls): try again later"
    ));
    let _ = response::send(&mut respond, status.into_http::<axum::body::Body>(), budget).await;
}

/// Logs and counts what ended a connection abnormally.
fn report(metrics: &Metrics, peer: SocketAddr, error: &h2::Error) {
    if let Some(io) = error.get_io() {
        use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
        let reason = match io.kind() {
            ConnectionReset | ConnectionAborted => "connection_reset",
            BrokenPipe => "broken_pipe",
            UnexpectedEof => "unexpected_eof",
            _ => "io",
        };
        metrics.connection_error("h2", "client", reason);
        tracing::info!(%peer, "HTTP/2 connection lost: {io}");
        return;
    }
    let reason = error.reason().map_or("other", reason_name);
    if error.reason() == Some(Reason::NO_ERROR) {
        tracing::debug!(%peer, "HTTP/2 connection closed: {error}");
        return;
    }
    let initiator = if error.is_remote() { "client" } else { "server" };
    metrics.connection_error("h2", initiator, reason);
    if error.is_go_away() && error.is_remote() {
        tracing::warn!(%peer, reason, "the client closed its HTTP/2 connection with an error (GOAWAY): {error}");
    } else {
        tracing::warn!(%peer, reason, "HTTP/2 connection closed (GOAWAY sent): {error}");
    }
}

/// The name RFC 9113 gives an error code; `other` for unknown ones, so a
/// client cannot mint metric series.
fn reason_name(reason: Reason) -> &'static str {
    match u32::from(reason) {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "other",
    }
}
