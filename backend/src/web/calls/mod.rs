//! What happens around every gRPC call, native or gRPC-Web: the layers the
//! call passes, composed in [`CallLayer`], and what the connection tells them
//! about it (its protocol, its peer).
//!
//! One layer a job: `observe.rs` (the log line and the metrics), `write_access.rs`
//! (writes need the token), `deadline.rs` (`grpc-timeout` and the unary cap),
//! `respell.rs` (the statuses tonic spells otherwise than the gRPC
//! specification); then `single_message.rs` holds unary and server-streaming
//! requests to one message.

pub(crate) mod deadline;
pub(crate) mod observe;
pub(crate) mod respell;
pub(crate) mod single_message;
pub(crate) mod write_access;

use std::net::SocketAddr;
use std::time::Duration;

use http::Request;
use tower::{Layer, ServiceBuilder};

use crate::metrics::Metrics;
use crate::web::auth::WriteAccess;
use crate::web::calls::single_message::{OneMessage, OneMessageLayer};
use deadline::{Deadline, DeadlineLayer};
use observe::{Observe, ObserveLayer, ObservedBody};
use respell::{Respell, RespellLayer, RespelledBody};
use write_access::{AdmitWrites, AdmitWritesLayer};

/// Where a call's status is, in a trailers-only response's headers or in the
/// trailers: named once, not parsed from a string at each look.
static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

/// Which wire protocol a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    GrpcWeb,
    /// gRPC over WebSocket (grpc-ws, either revision), for browsers' streaming calls.
    WebSocket,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::WebSocket => "grpc-ws",
        }
    }
}

/// Notes on a request whether it came as gRPC-Web, before the gRPC-Web layer
/// turns it into plain gRPC (a call from a WebSocket is marked already).
pub(crate) fn mark_protocol<B>(mut request: Request<B>) -> Request<B> {
    if request.extensions().get::<Protocol>().is_some() {
        return request;
    }
    let grpc_web = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web"));
    request.extensions_mut().insert(if grpc_web { Protocol::GrpcWeb } else { Protocol::Grpc });
    request
}

/// The client's address as the log line shows it: written once per
/// connection, not once per call.
#[derive(Debug, Clone)]
pub(crate) struct PeerName(pub std::sync::Arc<str>);

impl PeerName {
    pub(crate) fn of(peer: SocketAddr) -> Self {
        Self(peer.to_string().into())
    }
}

/// The per-call policy shared by every gRPC service: the layers of
/// [`CallService`], built in [`CallLayer::layer`].
#[derive(Debug, Clone)]
pub(crate) struct CallLayer {
    metrics: Metrics,
    write_access: WriteAccess,
    unary_timeout: Duration,
}

impl CallLayer {
    pub(crate) fn new(metrics: Metrics, write_access: WriteAccess, unary_timeout: Duration) -> Self {
        Self { metrics, write_access, unary_timeout }
    }
}

/// A service `S` behind the per-call layers, outermost first.
pub(crate) type CallService<S> = Observe<AdmitWrites<Deadline<Respell<OneMessage<S>>>>>;

/// The body of a call's response, as the layers hand it out.
pub(crate) type CallBody<B> = ObservedBody<RespelledBody<B>>;

impl<S> Layer<S> for CallLayer {
    type Service = CallService<S>;

    /// A call passes the layers from the top down, and its answer from the
    /// bottom up. None boxes its future (the call path is hot: issue 11).
    fn layer(&self, inner: S) -> Self::Service {
        ServiceBuilder::new()
            // Begins the call; logs and counts it once, when its answer ends
            // (refusals and deadlines below included).
            .layer(ObserveLayer::new(self.metrics.clone()))
            // Without the write token, a write is answered UNAUTHENTICATED here.
            .layer(AdmitWritesLayer::new(self.write_access.clone()))
            // The client's grpc-timeout, and the server's cap on unary calls.
            .layer(DeadlineLayer::new(self.unary_timeout))
            // tonic's OUT_OF_RANGE for an oversized message, said as the gRPC specification says it.
            .layer(RespellLayer)
            // Unary and server-streaming calls take exactly one request message.
            .layer(OneMessageLayer)
            .service(inner)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::Response;
    use tonic::{Code, Status};

    use super::*;
    use crate::web::calls::single_message::SingleMessage;

    #[test]
    fn a_call_is_marked_grpc_web_by_its_content_type_and_a_websocket_call_stays_marked() {
        let marked = |content_type: &str| {
            let request = Request::post("/").header("content-type", content_type).body(()).expect("request");
            mark_protocol(request).extensions().get::<Protocol>().copied()
        };
        assert_eq!(marked("application/grpc"), Some(Protocol::Grpc));
        assert_eq!(marked("application/grpc-web+proto"), Some(Protocol::GrpcWeb));
        assert_eq!(marked("application/grpc-web-text"), Some(Protocol::GrpcWeb));
        let mut websocket = Request::post("/").header("content-type", "application/grpc").body(()).expect("request");
        websocket.extensions_mut().insert(Protocol::WebSocket);
        assert_eq!(mark_protocol(websocket).extensions().get::<Protocol>(), Some(&Protocol::WebSocket));
    }

    /// The order of the layers shows: a refusal is still logged and counted,
    /// and what is counted is the status as respelled.
    #[tokio::test]
    async fn refusals_are_observed_and_observed_statuses_are_respelled() {
        let metrics = Metrics::default();
        let token = crate::web::auth::WriteToken::new("s3cret").expect("token");
        let layer = CallLayer::new(metrics.clone(), WriteAccess::new(Some(token)), Duration::from_millis(20));
        let tonics =
            || Status::out_of_range("Error, decoded message length too large: found 9 bytes, the limit is: 4 bytes");
        let service = tower::service_fn(move |_request: Request<SingleMessage<()>>| async move {
            Ok::<_, Infallible>(tonics().into_http::<tonic::body::Body>())
        });
        let call = |path: &str| Request::post(path).body(()).expect("request");
        let status = |response: Response<CallBody<tonic::body::Body>>| {
            Status::from_header_map(response.headers()).expect("a trailers-only status")
        };

        let add = call("/ecommerce.OrderManagement/addOrder");
        let refused = tower::ServiceExt::oneshot(layer.layer(service), add).await.expect("infallible");
        assert_eq!(status(refused).code(), Code::Unauthenticated);

        let get = call("/ecommerce.OrderManagement/getOrder");
        let answered = tower::ServiceExt::oneshot(layer.layer(service), get).await.expect("infallible");
        assert_eq!(status(answered).code(), Code::ResourceExhausted);

        let counted = metrics.encode();
        for (method, code) in [("addOrder", "Unauthenticated"), ("getOrder", "ResourceExhausted")] {
            let labels = format!(r#"grpc_method="{method}",grpc_type="unary",grpc_code="{code}"}} 1"#);
            assert!(counted.contains(&labels), "{method} {code}: {counted}");
        }
    }
}
