//! gRPC over WebSocket (`grpc-ws.v2` and `.v1`, specified in grpc-ws/PROTOCOL.md): one
//! call per WebSocket, for browsers, which cannot stream a request any other
//! way. Each call is turned into the native gRPC request it stands for and
//! run through the same router, so the same per-call layer (write access,
//! deadline, log line, metrics) and the same services handle it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use grpc_ws::Revision;
use http::header::{SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::budget::Budget;
use crate::metrics::Metrics;
use crate::web::origin::OriginPolicy;

/// Room in a socket's write buffer beyond its largest message: for the
/// frames around it (headers, trailers, window updates, pongs).
const WRITE_BUFFER_SLACK: usize = 1024 * 1024;

/// What each socket reads into at a time. tungstenite allocates its read
/// buffer whole when the socket opens (128 KiB by default), which made an
/// idle call cost about 150 KB; 4 KiB keeps one near 18 KiB (8 KiB: 22), and
/// a larger message is read in more steps, at no cost measured to throughput.
const READ_BUFFER_BYTES: usize = 4 * 1024;

mod call;

/// The WebSocket calls served at once: at most `limit` (`--max-websocket-calls`). Clones share them.
#[derive(Debug, Clone)]
pub(crate) struct CallSlots {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl CallSlots {
    pub(crate) fn new(limit: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit)), limit }
    }

    /// The status of a call past the cap.
    fn refusal(&self) -> tonic::Status {
        tonic::Status::resource_exhausted(format!(
            "the server already serves {} WebSocket calls, as many as it may at once (--max-websocket-calls): \
             try again later",
            self.limit
        ))
    }
}

/// What the WebSocket endpoint needs: where to run calls, who may open them,
/// and the calls in progress (so shutdown can wait for them).
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    calls: Router,
    origins: OriginPolicy,
    max_message_bytes: usize,
    open: TaskTracker,
    slots: CallSlots,
    budget: Budget,
    metrics: Metrics,
}

impl Endpoint {
    /// Calls over WebSocket to `calls`; their unread messages are held in `budget`.
    pub(crate) fn new(
        calls: Router,
        origins: OriginPolicy,
        max_message_bytes: usize,
        open: TaskTracker,
        slots: CallSlots,
        budget: Budget,
        metrics: Metrics,
    ) -> Self {
        Self { calls, origins, max_message_bytes, open, slots, budget, metrics }
    }
}

/// Middleware: a WebSocket upgrade offering a grpc-ws revision becomes a call,
/// in the newest revision offered; every other request goes on.
pub(crate) async fn upgrade(State(endpoint): State<Endpoint>, request: Request, next: Next) -> Response {
    let websocket =
        request.headers().get(UPGRADE).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let offered = request.headers().get_all(SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|value| value.to_str().ok());
    let Some(revision) = Revision::chosen(offered).filter(|_| websocket) else {
        return next.run(request).await;
    };
    let (mut parts, _) = request.into_parts();
    if let Some(refused) = endpoint.origins.refusal(&parts) {
        return refused;
    }
    let socket = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(socket) => socket,
        Err(rejection) => return rejection.into_response(),
    };
    endpoint.metrics.websocket_call(revision.subprotocol());
    let path = parts.uri.path().to_string();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied();
    // The socket is its connection's own: its call draws on that connection's share.
    let budget = endpoint.budget.for_call(&parts.extensions);
    let open = endpoint.open.token();
    // Past the cap the upgrade still completes, so that the client reads a status rather than a
    // refused handshake it could not tell from a proxy without WebSockets.
    let slot = Arc::clone(&endpoint.slots.permits).try_acquire_owned();
    // Room for the largest message the calls accept, so that the call's own
    // check, with its clear status, is what refuses a bigger one.
    let limit = endpoint.max_message_bytes.saturating_mul(2).saturating_add(1024);
    // What waits to be written is bounded too: a client that sends pings and
    // never reads the pongs fills it, and its socket closes.
    let socket =
        socket.max_write_buffer_size(limit.saturating_add(WRITE_BUFFER_SLACK)).read_buffer_size(READ_BUFFER_BYTES);
    let socket = socket.protocols([revision.subprotocol()]).max_message_size(limit).max_frame_size(limit);
    socket.on_upgrade(move |socket| async move {
        match slot {
            Ok(_slot) => call::serve(socket, revision, endpoint.calls, path, peer, budget).await,
            Err(_) => call::refuse(socket, endpoint.slots.refusal()).await,
        }
        drop(open);
    })
}
