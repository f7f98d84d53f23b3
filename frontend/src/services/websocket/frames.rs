//! The pure half of a call over WebSocket: tonic's request body cut into message frames, the call's
//! metadata, the server's frames read back into a gRPC response, the window the reader grants and
//! the credit the server grants the sender. Nothing here touches the browser, so all of it is
//! unit-tested natively.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use grpc_ws::{Credit, Reply, ServerFrame};
use http::HeaderMap;
use http::header::{CONTENT_TYPE, TE};
use tonic::Status;

/// Cuts tonic's request body, chunks holding any number of gRPC length-prefixed messages (or part
/// of one), into whole messages. A gRPC length-prefixed message is a grpc-ws message frame, byte
/// for byte, so each goes out as it is.
#[derive(Debug, Default)]
pub(super) struct Splitter {
    buffer: BytesMut,
}

impl Splitter {
    pub(super) fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole message frame, if the chunks so far complete one.
    pub(super) fn next_frame(&mut self) -> Option<Result<Bytes, Status>> {
        let message = grpc_ws::take_grpc_frame(&mut self.buffer)?;
        // grpc-ws carries uncompressed messages only, and tonic compresses nothing unless asked to.
        Some(match message[0] {
            0 => Ok(message),
            _ => Err(Status::internal("grpc-ws carries no compressed messages")),
        })
    }

    /// Whether the body left part of a message behind (checked when it ends).
    pub(super) fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }
}

/// The call's metadata for the headers frame: the request's headers less those of the transport.
pub(super) fn metadata(headers: &HeaderMap) -> HeaderMap {
    let mut metadata = headers.clone();
    metadata.remove(CONTENT_TYPE);
    metadata.remove(TE);
    metadata
}

/// Takes `credit` for one request message frame (grpc-ws's flow control), first waiting for the
/// server's `grants` while there is none: `false` if they end first (the call is over).
pub(super) async fn acquire(credit: &mut Credit, grants: &mut (impl Stream<Item = u32> + Unpin)) -> bool {
    while !credit.take() {
        match grants.next().await {
            Some(more) => credit.grant(more),
            None => return false,
        }
    }
    true
}

/// What one server frame is for: the response body, or the sender of the requests.
#[derive(Debug, PartialEq)]
pub(super) enum Received {
    /// For tonic, through the response body.
    Body(Incoming),
    /// A window update: the server grants this many more request messages ([`grpc_ws::Credit`]).
    Grant(u32),
}

/// A server frame, as the response body passes it to tonic.
#[derive(Debug, PartialEq)]
pub(super) enum Incoming {
    /// The response headers; with a `grpc-status`, a trailers-only response: the call is over.
    Head(HeaderMap),
    /// One message, as gRPC length-prefixed bytes.
    Message(Bytes),
    Trailers(HeaderMap),
}

/// Reads one WebSocket message from the server in its place ([`grpc_ws::Reply`]): for the response
/// body, or a grant for the sender; `None` once the call is over.
pub(super) fn receive(reply: &mut Reply, raw: Bytes) -> Result<Option<Received>, Status> {
    let read = reply.frame(&raw).map_err(|error| Status::internal(format!("grpc-ws: {error}")))?;
    Ok(read.map(|read| match read {
        ServerFrame::Head(headers) => Received::Body(Incoming::Head(headers)),
        // The message frame is the gRPC length-prefixed message itself.
        ServerFrame::Message(_) => Received::Body(Incoming::Message(raw)),
        ServerFrame::Trailers(trailers) => Received::Body(Incoming::Trailers(trailers)),
        ServerFrame::Grant(more) => Received::Grant(more),
    }))
}

/// The status of a call whose WebSocket closed where `reply` stands, or `None` if the call was
/// over already.
pub(super) fn closed(reply: Reply, code: u16, reason: &str) -> Option<Status> {
    match reply {
        Reply::AwaitingHead => Some(closed_unanswered(code, reason)),
        Reply::Streaming => Some(Status::unavailable(format!(
            "the connection to the server was lost before the call ended (WebSocket closed, {})",
            close_in_words(code, reason)
        ))),
        Reply::Done => None,
    }
}

/// UNAVAILABLE for a WebSocket that failed to open or closed before the server's first frame.
pub(super) fn closed_unanswered(code: u16, reason: &str) -> Status {
    unanswered(format!("the WebSocket closed before the server answered ({})", close_in_words(code, reason)))
}

fn close_in_words(code: u16, reason: &str) -> String {
    match reason {
        "" => format!("code {code}"),
        reason => format!("code {code}: {reason}"),
    }
}

/// Marks a status as that of a call the server never answered, which the page may make again over
/// gRPC-Web: `processOrders` cannot have read an id (the server answers it first), and an update
/// made twice changes no more than once.
#[derive(Debug)]
struct Unanswered;

impl fmt::Display for Unanswered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no answer over the WebSocket")
    }
}

impl std::error::Error for Unanswered {}

/// UNAVAILABLE, marked as unanswered.
pub(super) fn unanswered(message: String) -> Status {
    let mut status = Status::unavailable(message);
    status.set_source(Arc::new(Unanswered));
    status
}

/// Whether the server never answered the call (see [`unanswered`]).
pub(crate) fn is_unanswered(status: &Status) -> bool {
    std::error::Error::source(status).is_some_and(|source| source.is::<Unanswered>())
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn a_body_is_cut_into_one_frame_per_message_whatever_its_chunks() {
        let (one, two, three) = (grpc_ws::grpc_frame(b"102"), grpc_ws::grpc_frame(b""), grpc_ws::grpc_frame(b"104"));
        let mut body = Vec::new();
        for message in [&one, &two, &three] {
            body.extend_from_slice(message);
        }
        // Two messages and a half in the first chunk, the rest in the second.
        let mut splitter = Splitter::default();
        splitter.push(&body[..one.len() + two.len() + 2]);
        assert_eq!(splitter.next_frame().map(Result::unwrap), Some(one.clone()));
        assert_eq!(splitter.next_frame().map(Result::unwrap), Some(two));
        assert!(splitter.next_frame().is_none() && splitter.has_partial());
        splitter.push(&body[one.len() + 5 + 2..]);
        assert_eq!(splitter.next_frame().map(Result::unwrap), Some(three.clone()));
        assert!(splitter.next_frame().is_none() && !splitter.has_partial());
        // Each is a message frame as the server decodes it.
        assert_eq!(grpc_ws::Frame::decode(&one), Ok(grpc_ws::Frame::Message(Bytes::from_static(b"102"))));
    }

    #[test]
    fn a_compressed_message_is_refused() {
        let mut splitter = Splitter::default();
        splitter.push(&[1, 0, 0, 0, 1, 7]);
        assert!(splitter.next_frame().is_some_and(|frame| frame.is_err()));
    }

    #[test]
    fn the_metadata_keeps_authorization_and_drops_transport_headers() {
        let request = headers(&[
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("authorization", "Bearer s3cret"),
            ("x-trace", "1"),
        ]);
        assert_eq!(metadata(&request), headers(&[("authorization", "Bearer s3cret"), ("x-trace", "1")]));
    }

    #[test]
    fn the_sender_waits_for_a_grant_once_its_credit_is_spent() {
        let mut cx = Context::from_waker(Waker::noop());
        let (grants, mut granted) = futures::channel::mpsc::unbounded::<u32>();
        let mut credit = Credit::default();
        for _ in 0..grpc_ws::INITIAL_WINDOW {
            assert_eq!(pin!(acquire(&mut credit, &mut granted)).poll(&mut cx), Poll::Ready(true), "within the window");
        }
        {
            let mut waiting = pin!(acquire(&mut credit, &mut granted));
            assert!(waiting.as_mut().poll(&mut cx).is_pending(), "64 sent, none granted: the sender waits");
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
            grants.unbounded_send(2).expect("the sender listens");
            assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(true), "a grant lets one go");
        }
        assert_eq!(pin!(acquire(&mut credit, &mut granted)).poll(&mut cx), Poll::Ready(true), "and the other granted");
        assert!(pin!(acquire(&mut credit, &mut granted)).poll(&mut cx).is_pending());
        drop(grants);
        assert_eq!(pin!(acquire(&mut credit, &mut granted)).poll(&mut cx), Poll::Ready(false), "the call is over");
    }

    #[test]
    fn a_reply_reaches_tonic_as_the_frames_it_read_messages_byte_for_byte() {
        let mut reply = Reply::default();
        let head = Bytes::from(grpc_ws::Frame::Headers(HeaderMap::new()).encode());
        assert_eq!(receive(&mut reply, head).ok().flatten(), Some(Received::Body(Incoming::Head(HeaderMap::new()))));
        let message = Bytes::from(grpc_ws::Frame::Message(Bytes::from_static(b"cmb-1")).encode());
        let read = receive(&mut reply, message.clone()).ok().flatten();
        assert_eq!(read, Some(Received::Body(Incoming::Message(message))));
        assert_eq!(
            receive(&mut reply, grpc_ws::Frame::WindowUpdate(32).encode().into()).ok().flatten(),
            Some(Received::Grant(32))
        );
        let trailers = headers(&[("grpc-status", "0")]);
        let read = receive(&mut reply, grpc_ws::Frame::Headers(trailers.clone()).encode().into()).ok().flatten();
        assert_eq!(read, Some(Received::Body(Incoming::Trailers(trailers))));
        assert!(closed(reply, 1000, "").is_none(), "a close after the trailers is the call's normal end");
        let broken = receive(&mut Reply::AwaitingHead, grpc_ws::Frame::EndOfStream.encode().into())
            .expect_err("a client's frame");
        assert_eq!(broken.message(), "grpc-ws: the server sent a frame only a client may send");
    }

    #[test]
    fn a_close_before_the_first_frame_is_unanswered_and_later_a_lost_connection() {
        let never = closed(Reply::AwaitingHead, 1006, "").expect("a failure");
        assert_eq!(never.code(), tonic::Code::Unavailable);
        assert!(is_unanswered(&never), "the page may fall back: {never:?}");
        assert!(never.message().contains("code 1006"));
        let lost = closed(Reply::Streaming, 1001, "going away").expect("a failure");
        assert_eq!(lost.code(), tonic::Code::Unavailable);
        assert!(!is_unanswered(&lost), "the call may have run: no fallback");
        assert!(lost.message().contains("connection to the server was lost"), "{}", lost.message());
        assert!(!is_unanswered(&Status::unavailable("from the server")));
    }

    #[test]
    fn unanswered_survives_tonics_error_boxing() {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(unanswered("no".into()));
        assert!(is_unanswered(&Status::from_error(boxed)));
    }
}
