//! The pure half of a call over WebSocket: tonic's request body cut into message frames, the call's
//! metadata, the server's frames read back into a gRPC response, and the window the reader grants.
//! Nothing here touches the browser, so all of it is unit-tested natively.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use grpc_ws::{Frame, INITIAL_WINDOW};
use http::HeaderMap;
use http::header::{CONTENT_TYPE, TE};
use tonic::Status;

/// Messages granted back at a time, each time as many have been read (PROTOCOL.md: 32 per 32).
pub(super) const GRANT: u32 = INITIAL_WINDOW / 2;

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

/// The window the reader grants: every `GRANT` messages read, as many more may come. Counting
/// reads, not arrivals, keeps what a reader that stops reading holds to the window.
#[derive(Debug, Default)]
pub(super) struct Window {
    read: u32,
}

impl Window {
    /// One message was read; `Some(n)` when `n` more are to be granted.
    pub(super) fn read_one(&mut self) -> Option<u32> {
        self.read += 1;
        (self.read == GRANT).then(|| {
            self.read = 0;
            GRANT
        })
    }
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

/// Where the server's reply stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Reply {
    #[default]
    AwaitingHead,
    Streaming,
    /// Trailers came: the call is over, whatever follows.
    Done,
}

impl Reply {
    /// Reads one WebSocket message from the server.
    pub(super) fn frame(&mut self, raw: Vec<u8>) -> Result<Option<Incoming>, Status> {
        let frame = Frame::decode(&raw).map_err(|error| Status::internal(format!("grpc-ws: {error}")))?;
        let incoming = match (*self, frame) {
            (Reply::Done, _) => return Ok(None),
            (Reply::AwaitingHead, Frame::Headers(headers)) => {
                *self = if headers.contains_key("grpc-status") { Reply::Done } else { Reply::Streaming };
                Incoming::Head(headers)
            }
            // The message frame is the gRPC length-prefixed message itself.
            (Reply::Streaming, Frame::Message(_)) => Incoming::Message(Bytes::from(raw)),
            (Reply::Streaming, Frame::Headers(trailers)) => {
                *self = Reply::Done;
                Incoming::Trailers(trailers)
            }
            (Reply::AwaitingHead, Frame::Message(_)) => {
                return Err(Status::internal("grpc-ws: a message came before the response headers"));
            }
            (_, Frame::EndOfStream | Frame::WindowUpdate(_)) => {
                return Err(Status::internal("grpc-ws: the server sent a frame only a client may send"));
            }
        };
        Ok(Some(incoming))
    }

    /// The status of a call whose WebSocket closed now, or `None` if the call was over already.
    pub(super) fn closed(self, code: u16, reason: &str) -> Option<Status> {
        match self {
            Reply::AwaitingHead => Some(closed_unanswered(code, reason)),
            Reply::Streaming => Some(Status::unavailable(format!(
                "the connection to the server was lost before the call ended (WebSocket closed, {})",
                close_in_words(code, reason)
            ))),
            Reply::Done => None,
        }
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
        assert_eq!(Frame::decode(&one), Ok(Frame::Message(Bytes::from_static(b"102"))));
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
    fn the_reader_grants_32_for_every_32_messages_read() {
        let mut window = Window::default();
        let grants: Vec<u32> = (0..100).filter_map(|_| window.read_one()).collect();
        assert_eq!(grants, [32, 32, 32]);
    }

    #[test]
    fn a_server_sending_all_it_may_never_gets_ahead_of_the_window() {
        // The server sends whenever it has credit; the reader reads now and then, then stops.
        let (mut credit, mut unread, mut most_unread) = (INITIAL_WINDOW, 0, 0);
        let mut window = Window::default();
        for round in 0..10_000 {
            unread += std::mem::take(&mut credit);
            most_unread = most_unread.max(unread);
            if round < 5_000 && round % 3 == 0 && unread > 0 {
                unread -= 1;
                credit += window.read_one().unwrap_or(0);
            }
            assert!(unread + credit <= INITIAL_WINDOW, "round {round}: {unread} unread, {credit} granted");
        }
        assert_eq!(most_unread, INITIAL_WINDOW);
        assert_eq!(credit, 0, "a reader that stops reading stops the server");
    }

    #[test]
    fn a_reply_is_headers_messages_then_trailers() {
        let mut reply = Reply::default();
        let head = Frame::Headers(HeaderMap::new()).encode();
        assert_eq!(reply.frame(head).ok().flatten(), Some(Incoming::Head(HeaderMap::new())));
        let message = Frame::Message(Bytes::from_static(b"cmb-1")).encode();
        assert_eq!(reply.frame(message.clone()).ok().flatten(), Some(Incoming::Message(Bytes::from(message))));
        let trailers = headers(&[("grpc-status", "0")]);
        assert_eq!(
            reply.frame(Frame::Headers(trailers.clone()).encode()).ok().flatten(),
            Some(Incoming::Trailers(trailers))
        );
        assert_eq!(reply, Reply::Done);
        assert!(reply.closed(1000, "").is_none(), "a close after the trailers is the call's normal end");
    }

    #[test]
    fn trailers_only_end_the_call_at_once() {
        let mut reply = Reply::default();
        let trailers = headers(&[("grpc-status", "16"), ("grpc-message", "needs the write token")]);
        assert_eq!(
            reply.frame(Frame::Headers(trailers.clone()).encode()).ok().flatten(),
            Some(Incoming::Head(trailers))
        );
        assert_eq!(reply, Reply::Done);
    }

    #[test]
    fn frames_out_of_place_are_protocol_errors() {
        let message = Frame::Message(Bytes::from_static(b"x")).encode();
        assert!(Reply::AwaitingHead.frame(message).is_err(), "a message before the headers");
        assert!(Reply::Streaming.frame(Frame::WindowUpdate(1).encode()).is_err());
        assert!(Reply::Streaming.frame(vec![0, 0]).is_err(), "not a frame");
    }

    #[test]
    fn a_close_before_the_first_frame_is_unanswered_and_later_a_lost_connection() {
        let never = Reply::AwaitingHead.closed(1006, "").expect("a failure");
        assert_eq!(never.code(), tonic::Code::Unavailable);
        assert!(is_unanswered(&never), "the page may fall back: {never:?}");
        assert!(never.message().contains("code 1006"));
        let lost = Reply::Streaming.closed(1001, "going away").expect("a failure");
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
