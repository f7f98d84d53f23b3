//! gRPC over WebSocket (`grpc-ws.v1`, grpc-ws/PROTOCOL.md) for tonic's generated clients in the
//! browser: a `tower::Service` beside tonic-web-wasm-client's `Client`, but full duplex, so that the
//! page makes the book's client-streaming and bidirectional calls as they are. One WebSocket per
//! call, to `ws(s)://<page host>/<method path>`.

mod body;
mod call;
mod frames;
mod socket;

use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::future::LocalBoxFuture;
use tonic::Status;

pub(crate) use body::ResponseBody;
pub(crate) use frames::is_unanswered;

/// The transport: where the page's server takes WebSockets. Cloning is cheap.
#[derive(Clone, Debug)]
pub(crate) struct WebSocketChannel {
    /// `ws://host:port` or `wss://host:port`.
    origin: String,
}

impl WebSocketChannel {
    /// Calls go to the server of the page served from `protocol` (`http:`, `https:`) and `host`.
    pub(crate) fn for_page(protocol: &str, host: &str) -> Self {
        let scheme = if protocol == "https:" { "wss" } else { "ws" };
        WebSocketChannel { origin: format!("{scheme}://{host}") }
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for WebSocketChannel {
    type Response = http::Response<ResponseBody>;
    type Error = Status;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Status>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    /// Opens the call's WebSocket; the response comes with the server's first frame. A socket that
    /// cannot open or closes before that frame fails the call with UNAVAILABLE ([`is_unanswered`]).
    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let url = format!("{}{}", self.origin, request.uri().path());
        let (to_body, frames) = mpsc::unbounded();
        let (grants, granted) = mpsc::unbounded();
        wasm_bindgen_futures::spawn_local(call::run(url, request, to_body, granted));
        Box::pin(ResponseBody::new(frames, grants).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_go_to_the_pages_host_over_ws_or_wss() {
        assert_eq!(WebSocketChannel::for_page("http:", "127.0.0.1:50051").origin, "ws://127.0.0.1:50051");
        assert_eq!(WebSocketChannel::for_page("https:", "shop.example").origin, "wss://shop.example");
    }
}
