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
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

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
}
