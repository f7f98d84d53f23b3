//! The observing layer: each call is counted as it begins, and when its
//! response ends (or is dropped before its end) it is logged once, with its
//! status, and counted by that status and how long it took.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::ConnectInfo;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};
use tower::{Layer, Service};

use super::{GRPC_STATUS, PeerName, Protocol};
use crate::metrics::{Metrics, code_name};
use crate::rpc::methods::{self, Method};

/// The call log's target, as `RUST_LOG` filters and JSON lines name it: the
/// module's from before the layers had files of their own.
const LOG_TARGET: &str = "backend::calls";

/// Logs and counts each call in `metrics`.
#[derive(Debug, Clone)]
pub(crate) struct ObserveLayer {
    metrics: Metrics,
}

impl ObserveLayer {
    pub(crate) fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner, metrics: self.metrics.clone() }
    }
}

/// A service whose calls are logged and counted.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let call = Call::begin(&request, self.metrics.clone());
        ObserveFuture { response: self.inner.call(request), call: Some(call) }
    }
}

pin_project_lite::pin_project! {
    /// A call's answer, to be watched to its end.
    #[derive(Debug)]
    pub struct ObserveFuture<F> {
        #[pin]
        response: F,
        // Dropped unreported (so counted as cut short) if the answer never comes.
        call: Option<Call>,
    }
}

impl<F, ResBody, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ObservedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.response.poll(cx));
        let Some(call) = this.call.take() else { panic!("ObserveFuture polled after it completed") };
        Poll::Ready(response.map(|response| call.respond(response)))
    }
}

/// One call in progress: what it is, who asked, and since when.
#[derive(Debug)]
struct Call {
    path: Cow<'static, str>,
    method: Option<&'static Method>,
    peer: Option<PeerName>,
    protocol: Protocol,
    started: Instant,
    metrics: Metrics,
    /// Whether its end has been reported (a call dropped before that was cut short).
    reported: bool,
}

impl Call {
    fn begin<B>(request: &Request<B>, metrics: Metrics) -> Self {
        let method = methods::lookup(request.uri().path());
        let path = match method {
            Some(method) => Cow::Borrowed(method.path.as_str()),
            None => Cow::Owned(request.uri().path().to_string()),
        };
        metrics.call_started(method);
        Self {
            path,
            method,
            peer: request
                .extensions()
                .get::<PeerName>()
                .cloned()
                .or_else(|| request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| PeerName::of(info.0))),
            protocol: request.extensions().get::<Protocol>().copied().unwrap_or(Protocol::Grpc),
            started: Instant::now(),
            metrics,
            reported: false,
        }
    }

    /// Watches `response` to its end; a status in its headers (a
    /// trailers-only response) settles the outcome at once.
    fn respond<B>(self, response: Response<B>) -> Response<ObservedBody<B>> {
        let status = status_in(response.headers());
        response.map(|body| ObservedBody { body, status, call: Some(self) })
    }

    fn end(mut self, status: Option<Status>) {
        self.report(status);
    }

    fn report(&mut self, status: Option<Status>) {
        self.reported = true;
        let took = self.started.elapsed();
        // A response that ends without a status, or is dropped before its
        // end, was cut short: the client went away.
        let (code, error) = match &status {
            Some(status) => (status.code(), status.message()),
            None => (Code::Cancelled, "the call ended before its status was sent"),
        };
        self.metrics.call_handled(self.method, code, took);
        let peer = self.peer.as_ref().map_or("-", |peer| &peer.0);
        let duration_ms = (took.as_secs_f64() * 1e6).round() / 1e3;
        let (method, protocol, code) = (self.path.as_ref(), self.protocol.as_str(), code_name(code));
        match status.as_ref().map(Status::code) {
            Some(Code::Ok) => tracing::info!(target: LOG_TARGET, method, peer, protocol, code, duration_ms, "call"),
            Some(Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable) => {
                tracing::warn!(target: LOG_TARGET, method, peer, protocol, code, duration_ms, error, "call")
            }
            _ => tracing::info!(target: LOG_TARGET, method, peer, protocol, code, duration_ms, error, "call"),
        }
    }
}

/// A call dropped before its answer began (its client reset the stream, or
/// the connection was lost) is counted and logged as cut short.
impl Drop for Call {
    fn drop(&mut self) {
        if !self.reported {
            self.report(None);
        }
    }
}

/// The status in `headers` (response headers or trailers), if they hold one.
fn status_in(headers: &HeaderMap) -> Option<Status> {
    // Most calls end OK: no need to copy the trailers into a Status for that.
    if headers.get(&GRPC_STATUS).is_some_and(|code| code.as_bytes() == b"0") {
        return Some(Status::new(Code::Ok, String::new()));
    }
    Status::from_header_map(headers)
}

/// A response body that reports its call when it ends, with the status from
/// its trailers.
#[derive(Debug)]
pub struct ObservedBody<B> {
    body: B,
    status: Option<Status>,
    call: Option<Call>,
}

impl<B: Default> Default for ObservedBody<B> {
    fn default() -> Self {
        Self { body: B::default(), status: None, call: None }
    }
}

impl<B> ObservedBody<B> {
    fn finish(&mut self) {
        if let Some(call) = self.call.take() {
            call.end(self.status.take());
        }
    }
}

impl<B> Drop for ObservedBody<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B: Body + Unpin> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.status = status_in(trailers).or(this.status.take());
                }
            }
            Some(Err(_)) => {
                this.status = Some(Status::internal("the response failed while being sent"));
                this.finish();
            }
            None => this.finish(),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    use super::*;
    use crate::metrics::MethodLabels;

    const GET_ORDER: &str = "/ecommerce.OrderManagement/getOrder";

    /// How many getOrder calls `metrics` counts as handled with `code`.
    fn handled(metrics: &Metrics, code: &str) -> usize {
        let MethodLabels { grpc_service, grpc_method, grpc_type } = MethodLabels::of(methods::lookup(GET_ORDER));
        let labels = format!(
            "grpc_service=\"{grpc_service}\",grpc_method=\"{grpc_method}\",grpc_type=\"{grpc_type}\",grpc_code=\"{code}\""
        );
        let series = format!("grpc_server_handled_total{{{labels}}} ");
        let text = metrics.encode();
        text.lines().find_map(|line| line.strip_prefix(&series)).map_or(0, |count| count.parse().expect("a count"))
    }

    fn get_order() -> Request<()> {
        Request::post(GET_ORDER).body(()).expect("request")
    }

    #[tokio::test]
    async fn a_call_is_counted_by_the_status_in_its_trailers_when_its_body_ends() {
        let metrics = Metrics::default();
        let service = tower::service_fn(|_request: Request<()>| async {
            let mut trailers = HeaderMap::new();
            Status::not_found("order 999 not found").add_header(&mut trailers).expect("trailers");
            let body = Full::new(Bytes::from_static(b"x")).with_trailers(std::future::ready(Some(Ok(trailers))));
            Ok::<_, Infallible>(Response::new(body))
        });
        let observed = ObserveLayer::new(metrics.clone()).layer(service);
        let response = tower::ServiceExt::oneshot(observed, get_order()).await.expect("infallible");
        assert_eq!(handled(&metrics, "NotFound"), 0, "not before the body ends");
        let whole = response.into_body().collect().await.expect("body");
        assert!(whole.trailers().is_some(), "the trailers pass on");
        assert_eq!(handled(&metrics, "NotFound"), 1, "{}", metrics.encode());
    }

    #[tokio::test]
    async fn a_status_in_the_headers_settles_the_call_at_once() {
        let metrics = Metrics::default();
        let service = tower::service_fn(|_request: Request<()>| async {
            Ok::<_, Infallible>(Status::ok("").into_http::<Full<Bytes>>())
        });
        let observed = ObserveLayer::new(metrics.clone()).layer(service);
        let response = tower::ServiceExt::oneshot(observed, get_order()).await.expect("infallible");
        drop(response);
        assert_eq!(handled(&metrics, "OK"), 1, "{}", metrics.encode());
    }

    #[tokio::test]
    async fn a_call_dropped_before_its_status_is_counted_cancelled() {
        let metrics = Metrics::default();
        let never = tower::service_fn(|_request: Request<()>| {
            std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
        });
        let mut answer = Box::pin(ObserveLayer::new(metrics.clone()).layer(never).call(get_order()));
        assert!(futures::poll!(answer.as_mut()).is_pending());
        assert_eq!(handled(&metrics, "Canceled"), 0);
        drop(answer);
        assert_eq!(handled(&metrics, "Canceled"), 1, "dropped before its answer began");

        let unfinished = tower::service_fn(|_request: Request<()>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"x"))))
        });
        let observed = ObserveLayer::new(metrics.clone()).layer(unfinished);
        let response = tower::ServiceExt::oneshot(observed, get_order()).await.expect("infallible");
        drop(response);
        assert_eq!(handled(&metrics, "Canceled"), 2, "dropped before its trailers");
    }
}
