//! gRPC over WebSocket (`grpc-ws.v1`, specified in grpc-ws/PROTOCOL.md): one
//! call per WebSocket, for browsers, which cannot stream a request any other
//! way. Each call is turned into the native gRPC request it stands for and
//! run through the same router, so the same per-call layer (write access,
//! deadline, log line, metrics) and the same services handle it.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use grpc_ws::SUBPROTOCOL;
use http::header::{SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use tokio_util::task::TaskTracker;

use crate::budget::Budget;
use crate::origin::OriginPolicy;

/// Room in a socket's write buffer beyond its largest message: for the
/// frames around it (headers, trailers, window updates, pongs).
const WRITE_BUFFER_SLACK: usize = 1024 * 1024;

/// What each socket reads into at a time. tungstenite allocates its read
/// buffer whole when the socket opens (128 KiB by default), which made an
/// idle call cost about 150 KB; a larger message is read in more steps.
const READ_BUFFER_BYTES: usize = 8 * 1024;

mod call;

/// What the WebSocket endpoint needs: where to run calls, who may open them,
/// and the calls in progress (so shutdown can wait for them).
#[derive(Debug, Clone)]
pub struct Endpoint {
    calls: Router,
    origins: OriginPolicy,
    max_message_bytes: usize,
    open: TaskTracker,
    budget: Budget,
}

impl Endpoint {
    /// Calls over WebSocket to `calls`; their unread messages are held in `budget`.
    pub fn new(
        calls: Router,
        origins: OriginPolicy,
        max_message_bytes: usize,
        open: TaskTracker,
        budget: Budget,
    ) -> Self {
        Self { calls, origins, max_message_bytes, open, budget }
    }
}

/// Middleware: a WebSocket upgrade offering `grpc-ws.v1` becomes a call;
/// every other request goes on.
pub async fn upgrade(State(endpoint): State<Endpoint>, request: Request, next: Next) -> Response {
    let offers_grpc_ws =
        request.headers().get(UPGRADE).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
            && request.headers().get_all(SEC_WEBSOCKET_PROTOCOL).iter().any(|value| {
                value.to_str().is_ok_and(|offered| offered.split(',').any(|protocol| protocol.trim() == SUBPROTOCOL))
            });
    if !offers_grpc_ws {
        return next.run(request).await;
    }
    let (mut parts, _) = request.into_parts();
    if let Some(refused) = endpoint.origins.refusal(&parts) {
        return refused;
    }
    let socket = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(socket) => socket,
        Err(rejection) => return rejection.into_response(),
    };
    let path = parts.uri.path().to_string();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied();
    // The socket is its connection's own: its call draws on that connection's share.
    let budget = endpoint.budget.for_call(&parts.extensions);
    let open = endpoint.open.token();
    // Room for the largest message the calls accept, so that the call's own
    // check, with its clear status, is what refuses a bigger one.
    let limit = endpoint.max_message_bytes.saturating_mul(2).saturating_add(1024);
    // What waits to be written is bounded too: a client that sends pings and
    // never reads the pongs fills it, and its socket closes.
    let socket =
        socket.max_write_buffer_size(limit.saturating_add(WRITE_BUFFER_SLACK)).read_buffer_size(READ_BUFFER_BYTES);
    socket.protocols([SUBPROTOCOL]).max_message_size(limit).max_frame_size(limit).on_upgrade(move |socket| async move {
        call::serve(socket, endpoint.calls, path, peer, budget).await;
        drop(open);
    })
}
