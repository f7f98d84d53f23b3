//! The deadline layer: a call may take as long as its client's `grpc-timeout`
//! says, and a unary call no longer than the server's own limit; past that it
//! is answered DEADLINE_EXCEEDED.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::{HeaderMap, HeaderName, Request, Response};
use tokio::time::Sleep;
use tonic::Status;
use tower::{Layer, Service};

use crate::rpc::methods::{self, Kind};

/// Named once, not parsed from a string at each call.
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// Puts a deadline on each call (see [`deadline`]).
#[derive(Debug, Clone)]
pub(crate) struct DeadlineLayer {
    unary_timeout: Duration,
}

impl DeadlineLayer {
    /// Caps unary calls at `unary_timeout` (`--request-timeout`).
    pub(crate) fn new(unary_timeout: Duration) -> Self {
        Self { unary_timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner, unary_timeout: self.unary_timeout }
    }
}

/// A service whose calls are answered DEADLINE_EXCEEDED when they take too long.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    unary_timeout: Duration,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Deadline<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        let method = methods::lookup(path);
        let deadline = deadline(method.map(|method| method.kind), self.unary_timeout, request.headers());
        // The path is kept for the message only when there is a deadline to miss.
        let timed = deadline.map(|deadline| {
            let path = match method {
                Some(method) => Cow::Borrowed(method.path.as_str()),
                None => Cow::Owned(path.to_string()),
            };
            (deadline, path)
        });
        DeadlineFuture { response: Some(self.inner.call(request)), timed, timer: None }
    }
}

pin_project_lite::pin_project! {
    /// A call's answer, or DEADLINE_EXCEEDED when its deadline passes first.
    #[derive(Debug)]
    pub struct DeadlineFuture<F> {
        // Dropped when the deadline passes: what the call was doing is abandoned.
        #[pin]
        response: Option<F>,
        timed: Option<(Duration, Cow<'static, str>)>,
        // Set only once the answer was not ready at once: most unary calls
        // are, and a timer costs more to set than they take.
        #[pin]
        timer: Option<Sleep>,
    }
}

impl<F, ResBody, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(response) = this.response.as_mut().as_pin_mut() else {
            panic!("DeadlineFuture polled after it completed");
        };
        if let Poll::Ready(response) = response.poll(cx) {
            // A timer left set would wake the connection's task when it fires, to no purpose.
            if this.timer.is_some() {
                this.timer.set(None);
            }
            return Poll::Ready(response);
        }
        let Some((deadline, path)) = this.timed.as_ref() else { return Poll::Pending };
        if this.timer.is_none() {
            this.timer.set(Some(tokio::time::sleep(*deadline)));
        }
        if let Some(timer) = this.timer.as_mut().as_pin_mut() {
            ready!(timer.poll(cx));
        }
        this.timer.set(None);
        this.response.set(None);
        let status = Status::deadline_exceeded(format!(
            "{path} did not answer within {}",
            humantime::format_duration(*deadline)
        ));
        Poll::Ready(Ok(status.into_http()))
    }
}

/// The time a call may take to answer: the client's `grpc-timeout`, capped
/// for unary calls by the server's own limit.
fn deadline(kind: Option<Kind>, unary_timeout: Duration, headers: &HeaderMap) -> Option<Duration> {
    let asked = headers.get(&GRPC_TIMEOUT).and_then(|value| parse_grpc_timeout(value.as_bytes()));
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tonic::Code;

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

    fn answering_after(
        wait: Duration,
    ) -> impl Service<Request<()>, Response = Response<tonic::body::Body>, Error = Infallible> {
        tower::service_fn(move |_request: Request<()>| async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Ok::<_, Infallible>(Response::new(tonic::body::Body::empty()))
        })
    }

    async fn call(layer: DeadlineLayer, wait: Duration, request: Request<()>) -> Option<Status> {
        let response =
            tower::ServiceExt::oneshot(layer.layer(answering_after(wait)), request).await.expect("infallible");
        Status::from_header_map(response.headers())
    }

    #[tokio::test]
    async fn a_unary_call_slower_than_its_deadline_is_answered_deadline_exceeded() {
        let layer = DeadlineLayer::new(Duration::from_millis(20));
        let request = Request::post("/ecommerce.OrderManagement/getOrder").body(()).expect("request");
        let status = call(layer, Duration::from_secs(60), request).await.expect("a trailers-only status");
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert!(status.message().contains("getOrder did not answer within 20ms"), "{}", status.message());
    }

    #[tokio::test]
    async fn an_answer_ready_at_once_is_never_late() {
        let layer = DeadlineLayer::new(Duration::ZERO);
        let request = Request::post("/ecommerce.OrderManagement/getOrder").body(()).expect("request");
        assert_eq!(call(layer, Duration::ZERO, request).await.map(|status| status.code()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_has_only_the_deadline_its_client_asks_for() {
        let layer = DeadlineLayer::new(Duration::from_millis(20));
        let path = "/ecommerce.OrderManagement/processOrders";
        let untimed = Request::post(path).body(()).expect("request");
        let answered = call(layer.clone(), Duration::from_secs(3600), untimed).await;
        assert_eq!(answered.map(|status| status.code()), None, "no deadline without grpc-timeout");
        let timed = Request::post(path).header("grpc-timeout", "2S").body(()).expect("request");
        let late = call(layer, Duration::from_secs(3600), timed).await.expect("a trailers-only status");
        assert_eq!(late.code(), Code::DeadlineExceeded);
        assert!(late.message().contains("processOrders did not answer within 2s"), "{}", late.message());
    }
}
