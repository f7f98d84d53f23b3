//! gRPC over WebSocket (`grpc-ws.v2`, or `.v1` with a server that speaks no newer; grpc-ws/PROTOCOL.md)
//! for tonic's generated clients in the
//! browser: a `tower::Service` beside tonic-web-wasm-client's `Client`, but full duplex, so that the
//! page makes the book's client-streaming and bidirectional calls as they are. One WebSocket per
//! call, to `ws(s)://<page host>/<method path>`; in a development build made with
//! `ORDERMGT_DEV_WEBSOCKET_ORIGIN` set (`scripts/dev.sh` sets it for `trunk serve`, whose proxy
//! cannot carry these WebSockets), to that origin instead, the backend's own port.

mod body;
mod call;
mod frames;
mod socket;

use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::future::LocalBoxFuture;
use grpc_ws::Revision;
use tonic::Status;

pub(crate) use body::ResponseBody;
pub(crate) use frames::is_unanswered;

/// The transport: where the page's server takes WebSockets. Cloning is cheap.
#[derive(Clone, Debug)]
pub(crate) struct WebSocketChannel {
    /// `ws://host:port` or `wss://host:port`.
    origin: String,
    /// The revisions offered, newest first: the server speaks the newest it knows.
    offered: &'static [Revision],
}

/// Where a development build sends its WebSockets, if it was built to (`ws://127.0.0.1:50051`).
/// Release builds ignore it: they always call the server that served the page.
const DEV_WEBSOCKET_ORIGIN: Option<&str> =
    if cfg!(debug_assertions) { option_env!("ORDERMGT_DEV_WEBSOCKET_ORIGIN") } else { None };

impl WebSocketChannel {
    /// Calls go to the server of the page served from `protocol` (`http:`, `https:`) and `host`,
    /// or where a development build was told to send them.
    pub(crate) fn for_page(protocol: &str, host: &str) -> Self {
        Self::for_page_or(protocol, host, DEV_WEBSOCKET_ORIGIN)
    }

    fn for_page_or(protocol: &str, host: &str, elsewhere: Option<&str>) -> Self {
        if let Some(origin) = elsewhere.map(str::trim).filter(|origin| !origin.is_empty()) {
            return WebSocketChannel { origin: origin.trim_end_matches('/').to_string(), offered: &Revision::OFFERED };
        }
        let scheme = if protocol == "https:" { "wss" } else { "ws" };
        WebSocketChannel { origin: format!("{scheme}://{host}"), offered: &Revision::OFFERED }
    }

    /// The revisions the page's address asks to offer: every one, newest first, unless it says
    /// `?grpc-ws=v1` (the first revision alone, as an older page spoke it: for trying a server's v1).
    pub(crate) fn offering_as(self, query: &str) -> Self {
        let asked = query
            .trim_start_matches('?')
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(name, value)| (name == "grpc-ws").then_some(value));
        let offered: &'static [Revision] = if asked == Some("v1") { &[Revision::V1] } else { &Revision::OFFERED };
        Self { offered, ..self }
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
        wasm_bindgen_futures::spawn_local(call::run(url, self.offered, request, to_body, granted));
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

    #[test]
    fn a_development_build_may_send_them_to_the_backends_own_port() {
        let dev = WebSocketChannel::for_page_or("http:", "127.0.0.1:8080", Some("ws://127.0.0.1:50051/"));
        assert_eq!(dev.origin, "ws://127.0.0.1:50051");
        assert_eq!(WebSocketChannel::for_page_or("http:", "127.0.0.1:8080", Some(" ")).origin, "ws://127.0.0.1:8080");
    }

    #[test]
    fn the_page_offers_every_revision_unless_its_address_asks_for_v1() {
        let page = || WebSocketChannel::for_page("http:", "127.0.0.1:50051");
        assert_eq!(page().offered, [Revision::V2, Revision::V1]);
        assert_eq!(page().offering_as("?transport=websocket&grpc-ws=v2").offered, [Revision::V2, Revision::V1]);
        assert_eq!(page().offering_as("?grpc-ws=v1").offered, [Revision::V1]);
    }
}
