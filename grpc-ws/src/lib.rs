//! gRPC over WebSocket (`grpc-ws.v1`): the frames both ends exchange, one per
//! binary WebSocket message. PROTOCOL.md beside this crate is the specification.

// What a client sends must never panic the server: no unwrap or expect on
// anything it controls, and no silent truncation of a number it chose.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod flow;
mod reply;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

pub use flow::{Credit, GRANT, Window};
pub use reply::{Reply, ReplyError, ServerFrame};

/// The WebSocket subprotocol a client offers and the server accepts.
pub const SUBPROTOCOL: &str = "grpc-ws.v1";

/// Messages a client can receive before it grants more.
pub const INITIAL_WINDOW: u32 = 64;

const MESSAGE: u8 = 0x00;
const HEADERS: u8 = 0x80;
const END_OF_STREAM: u8 = 0x40;
const WINDOW_UPDATE: u8 = 0x20;
const PREFIX: usize = 5;

/// One frame: what one binary WebSocket message carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// One protobuf message, uncompressed.
    Message(Bytes),
    /// Metadata: the call's (client), the response's or the trailers (server).
    Headers(HeaderMap),
    /// The client's half-close.
    EndOfStream,
    /// The client is ready for this many more messages.
    WindowUpdate(u32),
}

/// Why a WebSocket message is not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame is at least 5 bytes; this one has {0}")]
    Short(usize),
    #[error("the frame says its payload is {declared} bytes but it carries {actual}")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("unknown frame flags {0:#04x} (compression is not supported)")]
    UnknownFlags(u8),
    #[error("a window update carries 4 bytes, not {0}")]
    BadWindowUpdate(usize),
    #[error("an end-of-stream frame carries nothing, not {0} bytes")]
    BadEndOfStream(usize),
    #[error("bad header block: {0}")]
    BadHeaders(String),
}

impl Frame {
    /// The frame as one WebSocket message.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Frame::Message(message) => prefixed(MESSAGE, message),
            Frame::Headers(headers) => prefixed(HEADERS, &encode_headers(headers)),
            Frame::EndOfStream => prefixed(END_OF_STREAM, &[]),
            Frame::WindowUpdate(count) => prefixed(WINDOW_UPDATE, &count.to_be_bytes()),
        }
    }

    /// The frame one WebSocket message carries.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let (flags, payload) = split(bytes)?;
        match flags {
            MESSAGE => Ok(Frame::Message(Bytes::copy_from_slice(payload))),
            HEADERS => decode_headers(payload).map(Frame::Headers),
            END_OF_STREAM if payload.is_empty() => Ok(Frame::EndOfStream),
            END_OF_STREAM => Err(FrameError::BadEndOfStream(payload.len())),
            WINDOW_UPDATE => {
                let count: [u8; 4] = payload.try_into().map_err(|_| FrameError::BadWindowUpdate(payload.len()))?;
                Ok(Frame::WindowUpdate(u32::from_be_bytes(count)))
            }
            other => Err(FrameError::UnknownFlags(other)),
        }
    }
}

/// Splits `buffer`, the start of a gRPC body, at the end of its first
/// complete length-prefixed message; `None` until one is complete.
pub fn take_grpc_frame(buffer: &mut BytesMut) -> Option<Bytes> {
    if buffer.len() < PREFIX {
        return None;
    }
    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    (buffer.len() >= PREFIX + length).then(|| buffer.split_to(PREFIX + length).freeze())
}

/// `payload` with its 5-byte prefix: what a gRPC body carries for one message.
pub fn grpc_frame(payload: &[u8]) -> Bytes {
    Bytes::from(prefixed(MESSAGE, payload))
}

#[expect(
    clippy::expect_used,
    reason = "a frame's payload is one WebSocket message or one gRPC message, both bounded far below 4 GiB"
)]
fn prefixed(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX + payload.len());
    out.put_u8(flags);
    out.put_u32(u32::try_from(payload.len()).expect("a frame is under 4 GiB"));
    out.put_slice(payload);
    out
}

fn split(bytes: &[u8]) -> Result<(u8, &[u8]), FrameError> {
    if bytes.len() < PREFIX {
        return Err(FrameError::Short(bytes.len()));
    }
    let declared = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    let payload = &bytes[PREFIX..];
    if declared != payload.len() {
        return Err(FrameError::LengthMismatch { declared, actual: payload.len() });
    }
    Ok((bytes[0], payload))
}

/// `name: value\r\n` lines, as gRPC-Web writes its trailers.
pub fn encode_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn decode_headers(block: &[u8]) -> Result<HeaderMap, FrameError> {
    let mut headers = HeaderMap::new();
    for line in block.split(|&byte| byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|&byte| byte == b':')
            .ok_or_else(|| FrameError::BadHeaders(format!("line {:?} has no colon", String::from_utf8_lossy(line))))?;
        let name = HeaderName::from_bytes(line[..colon].trim_ascii())
            .map_err(|_| FrameError::BadHeaders(format!("bad name {:?}", String::from_utf8_lossy(&line[..colon]))))?;
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
            .map_err(|_| FrameError::BadHeaders(format!("bad value for {name}")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_survives_the_round_trip() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        headers.append("x-tag", HeaderValue::from_static("a"));
        headers.append("x-tag", HeaderValue::from_static("b"));
        for frame in [
            Frame::Message(Bytes::from_static(b"\x0a\x03102")),
            Frame::Message(Bytes::new()),
            Frame::Headers(headers),
            Frame::Headers(HeaderMap::new()),
            Frame::EndOfStream,
            Frame::WindowUpdate(32),
        ] {
            assert_eq!(Frame::decode(&frame.encode()), Ok(frame.clone()), "{frame:?}");
        }
    }

    #[test]
    fn a_message_frame_is_a_grpc_length_prefixed_message() {
        let frame = Frame::Message(Bytes::from_static(b"abc")).encode();
        assert_eq!(frame, grpc_frame(b"abc").to_vec());
        assert_eq!(frame, [0, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn malformed_frames_are_named() {
        assert_eq!(Frame::decode(&[0, 0, 0]), Err(FrameError::Short(3)));
        assert_eq!(Frame::decode(&[0, 0, 0, 0, 9, 1]), Err(FrameError::LengthMismatch { declared: 9, actual: 1 }));
        assert_eq!(Frame::decode(&[1, 0, 0, 0, 0]), Err(FrameError::UnknownFlags(1)));
        assert_eq!(Frame::decode(&[0x20, 0, 0, 0, 1, 7]), Err(FrameError::BadWindowUpdate(1)));
        assert_eq!(Frame::decode(&[0x40, 0, 0, 0, 1, 7]), Err(FrameError::BadEndOfStream(1)));
        assert!(matches!(Frame::decode(&prefixed(HEADERS, b"no colon\r\n")), Err(FrameError::BadHeaders(_))));
        assert!(matches!(Frame::decode(&prefixed(HEADERS, b"a: \x01\r\n")), Err(FrameError::BadHeaders(_))));
    }

    #[test]
    fn grpc_frames_are_taken_whole_from_a_body() {
        let mut body = BytesMut::new();
        body.extend_from_slice(&grpc_frame(b"one"));
        body.extend_from_slice(&grpc_frame(b"two")[..4]);
        assert_eq!(take_grpc_frame(&mut body).as_deref(), Some(&grpc_frame(b"one")[..]));
        assert_eq!(take_grpc_frame(&mut body), None, "the second is not complete");
        body.extend_from_slice(&grpc_frame(b"two")[4..]);
        assert_eq!(take_grpc_frame(&mut body).as_deref(), Some(&grpc_frame(b"two")[..]));
        assert!(body.is_empty());
    }
}
