//! A client's reading of the server's frames (PROTOCOL.md): the response
//! headers, then messages, then the trailers, with window updates at any time
//! before the trailers; a headers frame with a `grpc-status` first is a
//! trailers-only response. Pure state, for every client of ours: the page,
//! the benchmark and the tests.

use bytes::Bytes;
use http::HeaderMap;

use crate::{Frame, FrameError};

/// What one server frame is, read in its place.
#[derive(Debug, PartialEq)]
pub enum ServerFrame {
    /// The response headers; with a `grpc-status`, a trailers-only response: the call is over.
    Head(HeaderMap),
    /// One response message (the payload; the WebSocket message was its gRPC length-prefixed
    /// frame, byte for byte).
    Message(Bytes),
    Trailers(HeaderMap),
    /// A window update: the server grants this many more request messages.
    Grant(u32),
}

/// Why a server frame breaks the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("a message came before the response headers")]
    MessageBeforeHeaders,
    #[error("the server sent a frame only a client may send")]
    ClientFrame,
}

/// Where the server's reply stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reply {
    #[default]
    AwaitingHead,
    Streaming,
    /// Trailers came: the call is over, whatever follows.
    Done,
}

impl Reply {
    /// Reads one WebSocket message from the server: `None` once the call is over (what follows
    /// the trailers is ignored).
    pub fn frame(&mut self, raw: &[u8]) -> Result<Option<ServerFrame>, ReplyError> {
        let frame = Frame::decode(raw)?;
        let read = match (*self, frame) {
            (Reply::Done, _) => return Ok(None),
            // A call may take requests, and grant more, before it answers.
            (_, Frame::WindowUpdate(more)) => ServerFrame::Grant(more),
            (Reply::AwaitingHead, Frame::Headers(headers)) => {
                *self = if headers.contains_key("grpc-status") { Reply::Done } else { Reply::Streaming };
                ServerFrame::Head(headers)
            }
            (Reply::Streaming, Frame::Message(message)) => ServerFrame::Message(message),
            (Reply::Streaming, Frame::Headers(trailers)) => {
                *self = Reply::Done;
                ServerFrame::Trailers(trailers)
            }
            (Reply::AwaitingHead, Frame::Message(_)) => return Err(ReplyError::MessageBeforeHeaders),
            (_, Frame::EndOfStream) => return Err(ReplyError::ClientFrame),
        };
        Ok(Some(read))
    }
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
    fn a_reply_is_headers_messages_then_trailers() {
        let mut reply = Reply::default();
        assert_eq!(
            reply.frame(&Frame::Headers(HeaderMap::new()).encode()),
            Ok(Some(ServerFrame::Head(HeaderMap::new())))
        );
        let message = Frame::Message(Bytes::from_static(b"cmb-1")).encode();
        assert_eq!(reply.frame(&message), Ok(Some(ServerFrame::Message(Bytes::from_static(b"cmb-1")))));
        let trailers = headers(&[("grpc-status", "0")]);
        assert_eq!(reply.frame(&Frame::Headers(trailers.clone()).encode()), Ok(Some(ServerFrame::Trailers(trailers))));
        assert_eq!(reply, Reply::Done);
        assert_eq!(reply.frame(&message), Ok(None), "what follows the trailers is ignored");
    }

    #[test]
    fn trailers_only_end_the_call_at_once() {
        let mut reply = Reply::default();
        let trailers = headers(&[("grpc-status", "16"), ("grpc-message", "needs the write token")]);
        assert_eq!(reply.frame(&Frame::Headers(trailers.clone()).encode()), Ok(Some(ServerFrame::Head(trailers))));
        assert_eq!(reply, Reply::Done);
    }

    #[test]
    fn window_updates_are_grants_before_and_after_the_headers_until_the_trailers() {
        let mut reply = Reply::default();
        assert_eq!(reply.frame(&Frame::WindowUpdate(32).encode()), Ok(Some(ServerFrame::Grant(32))));
        assert_eq!(reply, Reply::AwaitingHead, "a grant is not the answer");
        let _ = reply.frame(&Frame::Headers(HeaderMap::new()).encode());
        assert_eq!(reply.frame(&Frame::WindowUpdate(7).encode()), Ok(Some(ServerFrame::Grant(7))));
        assert_eq!(reply, Reply::Streaming);
        let _ = reply.frame(&Frame::Headers(headers(&[("grpc-status", "0")])).encode());
        assert_eq!(reply.frame(&Frame::WindowUpdate(32).encode()), Ok(None), "the call is over");
    }

    #[test]
    fn frames_out_of_place_are_protocol_errors() {
        let message = Frame::Message(Bytes::from_static(b"x")).encode();
        assert_eq!(Reply::AwaitingHead.frame(&message), Err(ReplyError::MessageBeforeHeaders));
        assert_eq!(Reply::Streaming.frame(&Frame::EndOfStream.encode()), Err(ReplyError::ClientFrame));
        assert_eq!(Reply::AwaitingHead.frame(&Frame::EndOfStream.encode()), Err(ReplyError::ClientFrame));
        assert!(matches!(Reply::Streaming.frame(&[0, 0]), Err(ReplyError::Frame(_))), "not a frame");
        assert!(matches!(Reply::Streaming.frame(&[0x20, 0, 0, 0, 2, 0, 1]), Err(ReplyError::Frame(_))), "short");
    }
}
