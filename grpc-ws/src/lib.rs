//! gRPC over WebSocket (`grpc-ws.v2`, and `grpc-ws.v1` before it): the frames
//! both ends exchange, one per binary WebSocket message in v1, one or more in
//! v2. PROTOCOL.md beside this crate is the specification.

// What a client sends must never panic the server: no unwrap or expect on
// anything it controls, and no silent truncation of a number it chose.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod flow;
mod reply;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

pub use flow::{Credit, GRANT, PEAK_FACTOR, WINDOW_BYTES, Window};
pub use reply::{Reply, ReplyError, ServerFrame};

/// A revision of the protocol, named by the WebSocket subprotocol that offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Revision {
    /// `grpc-ws.v1`: every WebSocket message carries exactly one frame.
    V1,
    /// `grpc-ws.v2`: a WebSocket message carries one or more frames, back to back.
    V2,
}

impl Revision {
    /// What a client offers, in the order of preference (`Sec-WebSocket-Protocol`).
    pub const OFFERED: [Revision; 2] = [Revision::V2, Revision::V1];

    /// The WebSocket subprotocol that names it.
    pub const fn subprotocol(self) -> &'static str {
        match self {
            Revision::V1 => "grpc-ws.v1",
            Revision::V2 => "grpc-ws.v2",
        }
    }

    /// The revision a subprotocol names, if it names one.
    pub fn of_subprotocol(name: &str) -> Option<Self> {
        Self::OFFERED.into_iter().find(|revision| revision.subprotocol() == name.trim())
    }

    /// What a server speaks to a client offering `offered` (the values of its
    /// `Sec-WebSocket-Protocol` headers, comma-separated lists allowed): the
    /// newest revision offered, whatever the order of the offer; `None` if the
    /// client offers none.
    pub fn chosen<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let offered: Vec<Revision> =
            offered.into_iter().flat_map(|value| value.split(',')).filter_map(Self::of_subprotocol).collect();
        Self::OFFERED.into_iter().find(|revision| offered.contains(revision))
    }
}

/// What a sender gathers into one WebSocket message at most (v2), unless a
/// single frame is larger, which then goes alone.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Messages a client can receive before it grants more.
pub const INITIAL_WINDOW: u32 = 64;

const MESSAGE: u8 = 0x00;
const HEADERS: u8 = 0x80;
const END_OF_STREAM: u8 = 0x40;
const WINDOW_UPDATE: u8 = 0x20;
/// The bytes before each frame's payload: its flags and length.
pub(crate) const PREFIX: usize = 5;

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
    #[error("a WebSocket message ends inside a frame: {declared} bytes declared, {actual} left")]
    Truncated { declared: usize, actual: usize },
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

/// The frames of one WebSocket message, each as its own bytes (sharing the
/// message's): in v1 the message itself, which [`Frame::decode`] then checks;
/// in v2 each length-prefixed frame in turn, and an error where one is cut
/// short.
pub fn frames_of(revision: Revision, message: Bytes) -> Frames {
    Frames { revision, rest: message, done: false }
}

/// The frames of one WebSocket message ([`frames_of`]).
#[derive(Debug)]
pub struct Frames {
    revision: Revision,
    rest: Bytes,
    done: bool,
}

impl Iterator for Frames {
    type Item = Result<Bytes, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.revision == Revision::V1 {
            self.done = true;
            return Some(Ok(std::mem::take(&mut self.rest)));
        }
        if self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < PREFIX {
            self.done = true;
            return Some(Err(FrameError::Short(self.rest.len())));
        }
        let declared = u32::from_be_bytes([self.rest[1], self.rest[2], self.rest[3], self.rest[4]]) as usize;
        let actual = self.rest.len() - PREFIX;
        if declared > actual {
            self.done = true;
            return Some(Err(FrameError::Truncated { declared, actual }));
        }
        Some(Ok(self.rest.split_to(PREFIX + declared)))
    }
}

impl Frames {
    /// The message frames at the front of what is left, taken together as
    /// one run of gRPC length-prefixed messages (a message frame is one, byte
    /// for byte) and their count: as many whole ones as fit in `max_bytes`,
    /// and always the first, however large. `None` if the next frame is not a
    /// message (or is malformed): [`Iterator::next`] then takes it.
    pub fn next_messages(&mut self, max_bytes: usize) -> Option<(Bytes, u32)> {
        if self.done {
            return None;
        }
        // v1: one frame to a WebSocket message, so one message at most.
        let max_bytes = if self.revision == Revision::V1 { 0 } else { max_bytes };
        let (len, count) = leading_messages(&self.rest, max_bytes, u32::MAX);
        if count == 0 || (self.revision == Revision::V1 && len != self.rest.len()) {
            return None;
        }
        if self.revision == Revision::V1 {
            self.done = true;
        }
        Some((self.rest.split_to(len), count))
    }
}

/// The length and count of the whole message frames (flags 0: uncompressed
/// gRPC length-prefixed messages) at the start of `bytes`: as many as fit in
/// `max_bytes`, no more than `max_count`, and at least the first if it is
/// whole (and `max_count` is not 0).
pub fn leading_messages(bytes: &[u8], max_bytes: usize, max_count: u32) -> (usize, u32) {
    let (mut len, mut count) = (0, 0);
    while count < max_count && bytes.get(len) == Some(&MESSAGE) {
        let Some(frame) = whole_frame_len(&bytes[len..]) else { break };
        if count > 0 && len + frame > max_bytes {
            break;
        }
        len += frame;
        count += 1;
    }
    (len, count)
}

/// The length of the first frame (or gRPC length-prefixed message) in
/// `bytes`, prefix included, if `bytes` holds it whole.
pub fn whole_frame_len(bytes: &[u8]) -> Option<usize> {
    let prefix = bytes.get(..PREFIX)?;
    let len = PREFIX + u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    (bytes.len() >= len).then_some(len)
}

/// Encoded frames gathered into one WebSocket message (v2): a sender pushes
/// what is ready while [`Batch::has_room_for`] it, and sends what it holds;
/// it never waits for more, so a lone frame goes out as soon as it would alone.
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
}

impl Batch {
    /// Whether a frame of `len` bytes may join: always into an empty batch,
    /// else while the batch stays within [`MAX_BATCH_BYTES`].
    pub fn has_room_for(&self, len: usize) -> bool {
        self.bytes.is_empty() || self.bytes.len() + len <= MAX_BATCH_BYTES
    }

    /// Adds one encoded frame.
    pub fn push(&mut self, frame: &[u8]) {
        self.bytes.extend_from_slice(frame);
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The WebSocket message: every frame pushed since the last take.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

/// Splits `buffer`, the start of a gRPC body, at the end of its first
/// complete length-prefixed message; `None` until one is complete.
pub fn take_grpc_frame(buffer: &mut BytesMut) -> Option<Bytes> {
    let len = whole_frame_len(buffer)?;
    Some(buffer.split_to(len).freeze())
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

    fn batch(frames: &[Frame]) -> Bytes {
        let mut batch = Batch::default();
        for frame in frames {
            batch.push(&frame.encode());
        }
        Bytes::from(batch.take())
    }

    fn decoded(revision: Revision, message: Bytes) -> Result<Vec<Frame>, FrameError> {
        frames_of(revision, message).map(|raw| Frame::decode(&raw?)).collect()
    }

    #[test]
    fn a_v2_message_carries_its_frames_back_to_back() {
        let frames = [
            Frame::Headers(HeaderMap::new()),
            Frame::Message(Bytes::from_static(b"\x0a\x03102")),
            Frame::Message(Bytes::new()),
            Frame::WindowUpdate(32),
            Frame::EndOfStream,
        ];
        assert_eq!(decoded(Revision::V2, batch(&frames)), Ok(frames.to_vec()));
        // One frame alone is a v1 message and a v2 message alike.
        let one = Bytes::from(frames[1].encode());
        assert_eq!(decoded(Revision::V1, one.clone()), decoded(Revision::V2, one));
        // Each frame's bytes are the message's own: a message frame stays a gRPC length-prefixed message.
        let raw: Vec<Bytes> = frames_of(Revision::V2, batch(&frames)).collect::<Result<_, _>>().expect("frames");
        assert_eq!(raw[1], grpc_frame(b"\x0a\x03102"));
    }

    #[test]
    fn runs_of_message_frames_are_taken_whole_within_a_size_and_other_frames_one_by_one() {
        let (one, two, three) = (grpc_frame(b"102"), grpc_frame(b""), grpc_frame(&[7; 20]));
        let frames = [
            Frame::Message(Bytes::from_static(b"102")),
            Frame::Message(Bytes::new()),
            Frame::Message(Bytes::from(vec![7; 20])),
            Frame::WindowUpdate(32),
            Frame::Message(Bytes::from_static(b"102")),
        ];
        let mut frames = frames_of(Revision::V2, batch(&frames));
        // At most 13 bytes: the first two (8 and 5), not the third.
        let run = [one.clone(), two].concat();
        assert_eq!(frames.next_messages(13), Some((Bytes::from(run), 2)));
        // One alone, past the size: a message is always taken.
        assert_eq!(frames.next_messages(1), Some((three, 1)));
        assert_eq!(frames.next_messages(1 << 16), None, "a window update is next");
        assert_eq!(frames.next().map(|raw| raw.and_then(|raw| Frame::decode(&raw))), Some(Ok(Frame::WindowUpdate(32))));
        assert_eq!(frames.next_messages(1 << 16), Some((one.clone(), 1)));
        assert_eq!(frames.next_messages(1 << 16), None);
        assert!(frames.next().is_none());
        // Cut short, or compressed: not a run; the iterator names the fault.
        let mut cut = frames_of(Revision::V2, one.slice(..6));
        assert_eq!(cut.next_messages(1 << 16), None);
        assert!(matches!(cut.next(), Some(Err(FrameError::Truncated { .. }))));
        let mut compressed = frames_of(Revision::V2, Bytes::from_static(b"\x01\0\0\0\0"));
        assert_eq!(compressed.next_messages(1 << 16), None);
        // v1: the whole WebSocket message or nothing.
        assert_eq!(frames_of(Revision::V1, one.clone()).next_messages(1), Some((one.clone(), 1)));
        let two_in_v1 = Bytes::from([one.clone(), one].concat());
        assert_eq!(frames_of(Revision::V1, two_in_v1).next_messages(1 << 16), None);
    }

    #[test]
    fn a_v1_message_is_exactly_one_frame() {
        let two = batch(&[Frame::EndOfStream, Frame::EndOfStream]);
        assert_eq!(decoded(Revision::V1, two), Err(FrameError::LengthMismatch { declared: 0, actual: 5 }));
    }

    #[test]
    fn a_v2_message_cut_inside_a_frame_is_named() {
        let mut cut = batch(&[Frame::WindowUpdate(1), Frame::Message(Bytes::from_static(b"abcdef"))]).to_vec();
        cut.truncate(cut.len() - 2);
        assert_eq!(decoded(Revision::V2, cut.into()), Err(FrameError::Truncated { declared: 6, actual: 4 }));
        assert_eq!(decoded(Revision::V2, Bytes::from_static(&[0, 0])), Err(FrameError::Short(2)));
        assert_eq!(decoded(Revision::V2, Bytes::new()), Ok(vec![]), "an empty message carries no frame");
    }

    #[test]
    fn a_batch_holds_what_fits_and_a_large_frame_alone() {
        let mut batch = Batch::default();
        assert!(batch.has_room_for(MAX_BATCH_BYTES * 2), "an empty batch takes any frame");
        batch.push(&[0; 10]);
        assert!(batch.has_room_for(MAX_BATCH_BYTES - 10));
        assert!(!batch.has_room_for(MAX_BATCH_BYTES - 9));
        assert_eq!((batch.take().len(), batch.is_empty()), (10, true));
    }

    #[test]
    fn the_server_speaks_the_newest_revision_the_client_offers() {
        assert_eq!(Revision::chosen(["grpc-ws.v1, grpc-ws.v2"]), Some(Revision::V2));
        assert_eq!(Revision::chosen(["grpc-ws.v1", "grpc-ws.v2"]), Some(Revision::V2));
        assert_eq!(Revision::chosen(["grpc-ws.v1"]), Some(Revision::V1));
        assert_eq!(Revision::chosen(["chat, grpc-ws.v3"]), None);
        assert_eq!(Revision::of_subprotocol(Revision::V2.subprotocol()), Some(Revision::V2));
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
