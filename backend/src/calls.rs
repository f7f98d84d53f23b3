//! What happens around every gRPC call, native or gRPC-Web, before and after
//! the service runs: write access is checked, unary calls get a deadline,
//! and when the response ends the call is logged once and counted.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::auth::WriteAccess;
use crate::methods::{self, Kind, Method};
use crate::metrics::{Metrics, code_name};
use crate::single_message::SingleMessage;

/// Which wire protocol a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
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
pub fn mark_protocol<B>(mut request: Request<B>) -> Request<B> {
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
pub struct PeerName(pub std::sync::Arc<str>);

impl PeerName {
    pub fn of(peer: SocketAddr) -> Self {
        Self(peer.to_string().into())
    }
}

/// The per-call policy shared by every gRPC service.
#[derive(Debug, Clone)]
pub struct CallLayer {
    metrics: Metrics,
    write_access: WriteAccess,
    unary_timeout: Duration,
}

impl CallLayer {
    pub fn new(metrics: Metrics, write_access: WriteAccess, unary_timeout: Duration) -> Self {
        Self { metrics, write_access, unary_timeout }
    }
}

impl<S> Layer<S> for CallLayer {
    type Service = CallService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallService { inner, policy: self.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct CallService<S> {
    inner: S,
    policy: CallLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CallService<S>
where
    S: Service<Request<SingleMessage<ReqBody>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Send + 'static,
    ResBody: Body + Default + Send + 'static,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this call; a fresh one waits for the next.
        let mut inner = self.inner.clone();
        std::mem::swap(&mut self.inner, &mut inner);
        let policy = self.policy.clone();
        let call = Call::begin(&request, policy.metrics.clone());
        Box::pin(async move {
            if let Err(status) = policy.write_access.admit(request.uri().path(), request.headers()) {
                return Ok(call.respond(status.into_http()));
            }
            let deadline = deadline(call.method.map(|method| method.kind), policy.unary_timeout, request.headers());
            // Unary and server-streaming calls take exactly one message.
            let one_message = matches!(call.method.map(|method| method.kind), Some(Kind::Unary | Kind::ServerStream));
            let path = call.method.map_or("", |method| method.path.as_str());
            let request = request.map(|body| SingleMessage::new(body, one_message, path));
            let mut response = std::pin::pin!(inner.call(request));
            // An answer ready at once needs no timer (most unary calls: a
            // timer costs more to set than they take).
            let ready = futures::poll!(response.as_mut());
            let response = match (ready, deadline) {
                (Poll::Ready(response), _) => response?,
                (Poll::Pending, None) => response.await?,
                (Poll::Pending, Some(deadline)) => match tokio::time::timeout(deadline, response).await {
                    Ok(response) => response?,
                    Err(_) => {
                        let status = Status::deadline_exceeded(format!(
                            "{} did not answer within {}",
                            call.path,
                            humantime::format_duration(deadline)
                        ));
                        status.into_http()
                    }
                },
            };
            Ok(call.respond(response))
        })
    }
}

/// The time a call may take to answer: the client's `grpc-timeout`, capped
/// for unary calls by the server's own limit.
fn deadline(kind: Option<Kind>, unary_timeout: Duration, headers: &HeaderMap) -> Option<Duration> {
    let asked = headers.get("grpc-timeout").and_then(|value| parse_grpc_timeout(value.as_bytes()));
    match kind {
        Some(Kind::Unary) => Some(asked.map_or(unary_timeout, |asked| asked.min(unary_timeout))),
        _ => asked,
    }
}

/// `grpc-timeout`: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
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
    fn respond<B>(self, mut response: Response<B>) -> Response<ObservedBody<B>> {
        let status = settle(response.headers_mut());
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
            Some(Code::Ok) => tracing::info!(method, peer, protocol, code, duration_ms, "call"),
            Some(Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable) => {
                tracing::warn!(method, peer, protocol, code, duration_ms, error, "call")
            }
            _ => tracing::info!(method, peer, protocol, code, duration_ms, error, "call"),
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

/// The status in `headers` (response headers or trailers), put the way the
/// gRPC specification says where tonic says it otherwise.
fn settle(headers: &mut HeaderMap) -> Option<Status> {
    // Most calls end OK: no need to copy the trailers into a Status for that.
    if headers.get("grpc-status").is_some_and(|code| code.as_bytes() == b"0") {
        return Some(Status::new(Code::Ok, String::new()));
    }
    let status = Status::from_header_map(headers)?;
    let Some(respelled) = respell(&status) else { return Some(status) };
    if respelled.add_header(headers).is_err() {
        return Some(status);
    }
    Some(respelled)
}

/// tonic reports a message over the size limit as OUT_OF_RANGE; the gRPC
/// specification (and every other gRPC server) says RESOURCE_EXHAUSTED.
fn respell(status: &Status) -> Option<Status> {
    if status.code() != Code::OutOfRange {
        return None;
    }
    let message = status.message();
    let (which, detail) = if let Some(detail) = message.strip_prefix("Error, decoded message length too large: ") {
        ("request", detail)
    } else {
        ("response", message.strip_prefix("Error, encoded message length too large: ")?)
    };
    Some(Status::resource_exhausted(format!("the {which} message is too large: {detail} (--max-message-bytes)")))
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
        let mut frame = std::task::ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &mut frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_mut() {
                    this.status = settle(trailers).or(this.status.take());
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
    use super::*;

    #[test]
    fn grpc_timeouts_are_read_in_every_unit() {
        assert_eq!(parse_grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout(b"2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout(b"3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout(b"250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout(b"7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout(b"9n"), Some(Duration::from_nanos(9)));
        for bad in [&b""[..], b"S", b"123456789S", b"1x", b"-1S", b"1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unary_calls_get_the_shorter_of_the_two_deadlines_and_streams_only_the_clients() {
        let limit = Duration::from_secs(30);
        let mut headers = HeaderMap::new();
        assert_eq!(deadline(Some(Kind::Unary), limit, &headers), Some(limit));
        assert_eq!(deadline(Some(Kind::BidiStream), limit, &headers), None);
        headers.insert("grpc-timeout", "5S".parse().expect("header"));
        assert_eq!(deadline(Some(Kind::Unary), limit, &headers), Some(Duration::from_secs(5)));
        assert_eq!(deadline(Some(Kind::ServerStream), limit, &headers), Some(Duration::from_secs(5)));
        headers.insert("grpc-timeout", "1H".parse().expect("header"));
        assert_eq!(deadline(Some(Kind::Unary), limit, &headers), Some(limit));
    }

    #[test]
    fn a_message_over_the_size_limit_is_resource_exhausted_as_the_grpc_spec_says() {
        let mut headers = HeaderMap::new();
        let tonics =
            Status::out_of_range("Error, decoded message length too large: found 2053 bytes, the limit is: 1024 bytes");
        tonics.add_header(&mut headers).expect("headers");
        let status = settle(&mut headers).expect("a status");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "the request message is too large: found 2053 bytes, the limit is: 1024 bytes (--max-message-bytes)"
        );
        assert_eq!(Status::from_header_map(&headers).map(|status| status.code()), Some(Code::ResourceExhausted));

        let mut other = HeaderMap::new();
        Status::out_of_range("page 9 of 3").add_header(&mut other).expect("headers");
        assert_eq!(settle(&mut other).map(|status| status.code()), Some(Code::OutOfRange), "other statuses are kept");
    }

    #[tokio::test]
    async fn a_unary_call_slower_than_its_deadline_is_answered_deadline_exceeded() {
        let slow = tower::service_fn(|_request: Request<SingleMessage<()>>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, std::convert::Infallible>(Response::new(tonic::body::Body::empty()))
        });
        let layer = CallLayer::new(Metrics::default(), WriteAccess::default(), Duration::from_millis(20));
        let request = Request::post("/ecommerce.OrderManagement/getOrder").body(()).expect("request");
        let response = tower::ServiceExt::oneshot(layer.layer(slow), request).await.expect("infallible");
        let status = Status::from_header_map(response.headers()).expect("a trailers-only status");
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert!(status.message().contains("getOrder did not answer within 20ms"), "{}", status.message());
    }
}
