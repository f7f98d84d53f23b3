//! The respelling layer: a status tonic puts otherwise than the gRPC
//! specification says is rewritten where it is settled (in a trailers-only
//! response's headers, or in the trailers), before anyone reads it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};
use tower::{Layer, Service};

use super::GRPC_STATUS;

/// Respells the statuses a service answers (see [`respell`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RespellLayer;

impl<S> Layer<S> for RespellLayer {
    type Service = Respell<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Respell { inner }
    }
}

/// A service whose statuses are put the way the gRPC specification puts them.
#[derive(Debug, Clone)]
pub struct Respell<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Respell<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<RespelledBody<ResBody>>;
    type Error = S::Error;
    type Future = RespellFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        RespellFuture { response: self.inner.call(request) }
    }
}

pin_project_lite::pin_project! {
    /// A call's answer, its status in the headers respelled.
    #[derive(Debug)]
    pub struct RespellFuture<F> {
        #[pin]
        response: F,
    }
}

impl<F, ResBody, E> Future for RespellFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<RespelledBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.project().response.poll(cx))?;
        respell_in(response.headers_mut());
        Poll::Ready(Ok(response.map(|body| RespelledBody { body })))
    }
}

pin_project_lite::pin_project! {
    /// A response body whose trailers' status is respelled.
    #[derive(Debug, Default)]
    pub struct RespelledBody<B> {
        #[pin]
        body: B,
    }
}

impl<B: Body> Body for RespelledBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut frame = ready!(self.project().body.poll_frame(cx));
        if let Some(trailers) = frame.as_mut().and_then(|frame| frame.as_mut().ok()).and_then(Frame::trailers_mut) {
            respell_in(trailers);
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

/// Rewrites the status in `headers` (response headers or trailers) where
/// tonic says it otherwise than the gRPC specification.
fn respell_in(headers: &mut HeaderMap) {
    // Only OUT_OF_RANGE (11) is ever respelled: any other status is left unread.
    if headers.get(&GRPC_STATUS).is_none_or(|code| code.as_bytes() != b"11") {
        return;
    }
    let Some(respelled) = Status::from_header_map(headers).as_ref().and_then(respell) else { return };
    // A status that cannot be put in headers (it cannot fail for ours) stays as tonic said it.
    let mut written = HeaderMap::new();
    if respelled.add_header(&mut written).is_ok() {
        headers.extend(written);
    }
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
    Some(crate::rpc::message_limit::too_large(which, detail))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    use super::*;

    const TONICS: &str = "Error, decoded message length too large: found 2053 bytes, the limit is: 1024 bytes";

    #[test]
    fn a_message_over_the_size_limit_is_resource_exhausted_as_the_grpc_spec_says() {
        let mut headers = HeaderMap::new();
        let tonics = Status::out_of_range(TONICS);
        tonics.add_header(&mut headers).expect("headers");
        respell_in(&mut headers);
        let status = Status::from_header_map(&headers).expect("a status");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "the request message is too large: found 2053 bytes, the limit is: 1024 bytes (--max-message-bytes)"
        );
        assert_eq!(Status::from_header_map(&headers).map(|status| status.code()), Some(Code::ResourceExhausted));

        let mut other = HeaderMap::new();
        Status::out_of_range("page 9 of 3").add_header(&mut other).expect("headers");
        respell_in(&mut other);
        let kept = Status::from_header_map(&other).map(|status| status.code());
        assert_eq!(kept, Some(Code::OutOfRange), "other statuses are kept");
    }

    #[test]
    fn a_response_too_large_is_named_as_the_response() {
        let tonics =
            Status::out_of_range("Error, encoded message length too large: found 9 bytes, the limit is: 4 bytes");
        let respelled = respell(&tonics).expect("respelled");
        assert_eq!(respelled.code(), Code::ResourceExhausted);
        assert!(
            respelled.message().starts_with("the response message is too large: found 9"),
            "{}",
            respelled.message()
        );
    }

    #[tokio::test]
    async fn the_layer_respells_a_trailers_only_answer_and_the_trailers_of_a_streamed_one() {
        let trailers_only = tower::service_fn(|_request: Request<()>| async {
            Ok::<_, Infallible>(Status::out_of_range(TONICS).into_http::<tonic::body::Body>())
        });
        let response = tower::ServiceExt::oneshot(RespellLayer.layer(trailers_only), Request::new(())).await;
        let headers = response.expect("infallible").headers().clone();
        assert_eq!(Status::from_header_map(&headers).map(|status| status.code()), Some(Code::ResourceExhausted));

        let streamed = tower::service_fn(|_request: Request<()>| async {
            let mut trailers = HeaderMap::new();
            Status::out_of_range(TONICS).add_header(&mut trailers).expect("trailers");
            let body = Full::new(Bytes::new()).with_trailers(std::future::ready(Some(Ok(trailers))));
            Ok::<_, Infallible>(Response::new(body))
        });
        let response = tower::ServiceExt::oneshot(RespellLayer.layer(streamed), Request::new(())).await;
        let trailers = response.expect("infallible").into_body().collect().await.expect("body").trailers().cloned();
        let status = trailers.as_ref().and_then(Status::from_header_map).map(|status| status.code());
        assert_eq!(status, Some(Code::ResourceExhausted));
    }
}
