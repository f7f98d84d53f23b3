//! Unary and server-streaming calls take exactly one request message.
//!
//! tonic reads the first message of such a call and drops any that follow,
//! so a client that sends two was answered OK. grpc-go answers
//! INTERNAL, and so does this body: it counts the gRPC messages framed in
//! the request as they pass, and fails the call as soon as a byte of a second
//! one arrives. (None at all is tonic's own INTERNAL, "Missing request message".)

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::Request;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;
use tower::{Layer, Service};

use crate::rpc::methods::{self, Kind};

/// Gives each call's request a [`SingleMessage`] body, counted when the
/// method is unary or server-streaming.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OneMessageLayer;

impl<S> Layer<S> for OneMessageLayer {
    type Service = OneMessage<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OneMessage { inner }
    }
}

/// A service whose unary and server-streaming calls take exactly one request message.
#[derive(Debug, Clone)]
pub struct OneMessage<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for OneMessage<S>
where
    S: Service<Request<SingleMessage<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = methods::lookup(request.uri().path());
        let one_message = matches!(method.map(|method| method.kind), Some(Kind::Unary | Kind::ServerStream));
        let path = method.map_or("", |method| method.path.as_str());
        self.inner.call(request.map(|body| SingleMessage::new(body, one_message, path)))
    }
}

pin_project_lite::pin_project! {
    /// A request body that fails on the first byte past its first gRPC
    /// message, when the call takes only one; otherwise the body as it is.
    #[derive(Debug)]
    pub struct SingleMessage<B> {
        #[pin]
        inner: B,
        // `None`: the call takes a stream of messages, nothing is counted.
        framing: Option<Framing>,
        method: &'static str,
    }
}

/// Where the request stands in its gRPC framing (a 5-byte prefix, then as
/// many bytes as the prefix says).
#[derive(Debug, Default)]
struct Framing {
    prefix: [u8; 5],
    prefix_read: usize,
    payload_left: usize,
    /// The first message's prefix has been read whole.
    first_begun: bool,
}

impl Framing {
    /// Follows `data` through the framing; false once it reaches a second message.
    fn within_one(&mut self, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let taken = self.payload_left.min(data.len());
                self.payload_left -= taken;
                data = &data[taken..];
                continue;
            }
            if self.first_begun && self.prefix_read == 0 {
                return false;
            }
            let taken = (self.prefix.len() - self.prefix_read).min(data.len());
            self.prefix[self.prefix_read..self.prefix_read + taken].copy_from_slice(&data[..taken]);
            self.prefix_read += taken;
            data = &data[taken..];
            if self.prefix_read == self.prefix.len() {
                let [_, a, b, c, d] = self.prefix;
                self.payload_left = u32::from_be_bytes([a, b, c, d]) as usize;
                self.prefix_read = 0;
                self.first_begun = true;
            }
        }
        true
    }
}

impl<B> SingleMessage<B> {
    /// `body`, counted when `one_message` (the call is unary or server-streaming).
    pub fn new(body: B, one_message: bool, method: &'static str) -> Self {
        Self { inner: body, framing: one_message.then(Framing::default), method }
    }
}

impl<B> Body for SingleMessage<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let frame = match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let (Some(framing), Some(data)) = (this.framing.as_mut(), frame.data_ref())
            && !framing.within_one(data.chunk())
        {
            let status = Status::internal(format!(
                "{} takes exactly one request message, and the client sent more than one",
                *this.method
            ));
            return Poll::Ready(Some(Err(Box::new(status))));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    fn message(payload: &[u8]) -> Vec<u8> {
        let mut framed = vec![0];
        framed.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
        framed.extend_from_slice(payload);
        framed
    }

    #[test]
    fn one_message_passes_in_any_slicing() {
        let framed = message(b"\x0a\x03102");
        for cut in 0..=framed.len() {
            let mut framing = Framing::default();
            assert!(framing.within_one(&framed[..cut]) && framing.within_one(&framed[cut..]), "cut at {cut}");
        }
    }

    #[test]
    fn an_empty_message_is_one_message() {
        assert!(Framing::default().within_one(&message(b"")));
    }

    #[test]
    fn the_first_byte_of_a_second_message_is_refused() {
        let (first, second) = (message(b"\x0a\x03102"), message(b""));
        let mut framing = Framing::default();
        assert!(framing.within_one(&first));
        assert!(!framing.within_one(&second[..1]));
        let mut together = first.clone();
        together.extend_from_slice(&second);
        assert!(!Framing::default().within_one(&together));
        for cut in 0..together.len() {
            let mut framing = Framing::default();
            let whole = framing.within_one(&together[..cut]) && framing.within_one(&together[cut..]);
            assert!(!whole, "cut at {cut}");
        }
    }

    /// Whether the layer lets `messages` through to a call of `path` whole.
    async fn passes_whole(path: &str, messages: &[Vec<u8>]) -> bool {
        let service = tower::service_fn(|request: Request<SingleMessage<Full<Bytes>>>| async {
            Ok::<_, std::convert::Infallible>(request.into_body().collect().await.is_ok())
        });
        let request = Request::post(path).body(Full::new(Bytes::from(messages.concat()))).expect("request");
        tower::ServiceExt::oneshot(OneMessageLayer.layer(service), request).await.expect("infallible")
    }

    #[tokio::test]
    async fn the_layer_counts_messages_for_unary_and_server_streaming_calls_only() {
        let (one, two) = (vec![message(b"\x0a\x03102")], vec![message(b"\x0a\x03102"), message(b"")]);
        assert!(passes_whole("/ecommerce.OrderManagement/getOrder", &one).await);
        assert!(!passes_whole("/ecommerce.OrderManagement/getOrder", &two).await);
        assert!(!passes_whole("/ecommerce.OrderManagement/searchOrders", &two).await);
        assert!(passes_whole("/ecommerce.OrderManagement/updateOrders", &two).await);
        assert!(passes_whole("/ecommerce.OrderManagement/processOrders", &two).await);
    }
}
