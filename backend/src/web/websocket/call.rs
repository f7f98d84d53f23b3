//! One call over one WebSocket: the client's frames read at all times, the
//! call run as the native request it stands for, its response written out
//! as the client's window allows, flow control both ways. In grpc-ws.v2 the
//! frames ready at once go out in one WebSocket message, and a client's
//! message may carry several.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use grpc_ws::{Batch, Frame, FrameError, Frames, INITIAL_WINDOW, Revision, WINDOW_BYTES, Window};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use tower::ServiceExt;

use crate::budget::{Budget, Held};
use crate::domain::error::OrderError;
use crate::web::calls::Protocol;

/// How long a client may take to send its call's metadata.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest window a client may grant, as in HTTP/2: 2^31 - 1 messages.
const MAX_WINDOW: usize = 0x7fff_ffff;
/// Most bytes of request messages a call holds unread: 8 MiB, what the
/// client's window lets it have in flight at the largest message it has sent
/// ([`grpc_ws::PEAK_FACTOR`] times [`WINDOW_BYTES`]). The window counts
/// messages, so without it 64 messages of several megabytes each could wait,
/// or a window sized for small ones filled with large ones. (A single
/// message, however large, is always taken: the call's own limit,
/// `--max-message-bytes`, refuses it with a clearer status.)
const READ_AHEAD_BYTES: usize = grpc_ws::PEAK_FACTOR as usize * WINDOW_BYTES as usize;
/// Most bytes of the client's messages handed to the call at once, as for
/// HTTP/2 (`net::http2`): the messages a WebSocket message carries go on
/// together, in runs of this size, and are counted read when the call takes
/// the run.
const READ_CHUNK: usize = 64 * 1024;
/// How long the client gets to answer the server's Close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages waiting for the socket writer.
const WRITE_QUEUE: usize = 64;
/// Close codes (RFC 6455).
const NORMAL: u16 = 1000;
const PROTOCOL_ERROR: u16 = 1002;
const POLICY_VIOLATION: u16 = 1008;
const TRY_AGAIN_LATER: u16 = 1013;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Client messages for the call: a run of gRPC length-prefixed messages, and how many.
type Requests = mpsc::Sender<Result<(Bytes, u32), BoxError>>;

/// Why a call ended before its response did.
#[derive(Debug)]
enum Ending {
    /// The client closed the WebSocket (or it broke) before the trailers.
    Cancelled,
    /// The client broke the protocol: tell it why, then close.
    ProtocolError(Status),
}

/// Serves one call to its end.
pub(super) async fn serve(
    socket: WebSocket,
    revision: Revision,
    calls: Router,
    path: String,
    peer: Option<ConnectInfo<SocketAddr>>,
    budget: Budget,
) {
    let (sink, incoming) = socket.split();
    let mut incoming = Incoming { socket: incoming, revision, pending: None };
    let (out, queued) = mpsc::channel(WRITE_QUEUE);
    let output = Arc::new(Mutex::new(Output { queued: 0, held: budget.none() }));
    let writer = tokio::spawn(write_out(sink, queued, Arc::clone(&output), revision));
    let close = match run(&mut incoming, (&out, &output), calls, path, peer, &budget).await {
        None => Some(NORMAL),
        Some(Ending::ProtocolError(status)) => {
            let _ = out.send(headers_message(&trailers_of(&status))).await;
            Some(match status.code() {
                Code::DeadlineExceeded => NORMAL,
                Code::ResourceExhausted => POLICY_VIOLATION,
                _ => PROTOCOL_ERROR,
            })
        }
        Some(Ending::Cancelled) => None,
    };
    if let Some(code) = close {
        let _ = out.send(Message::Close(Some(CloseFrame { code, reason: "".into() }))).await;
    }
    drop(out);
    let _ = writer.await;
    if close.is_some() {
        await_clients_close(&mut incoming.socket).await;
    }
}

/// The closing handshake, once the server has sent its Close: what the client
/// sent meanwhile is read and dropped until its Close (for up to
/// [`CLOSE_TIMEOUT`]), so that the socket is not reset under it before it has
/// read the trailers.
async fn await_clients_close(incoming: &mut SplitStream<WebSocket>) {
    let drained = async {
        while let Some(Ok(message)) = incoming.next().await {
            if let Message::Close(_) = message {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drained).await;
}

/// Answers a call the server will not run with `status` (trailers-only), then
/// closes the socket with 1013 (try again later), reading what the client sent
/// meanwhile until its Close.
pub(super) async fn refuse(socket: WebSocket, status: Status) {
    let (mut sink, mut incoming) = socket.split();
    let _ = sink.send(headers_message(&trailers_of(&status))).await;
    let _ = sink.send(Message::Close(Some(CloseFrame { code: TRY_AGAIN_LATER, reason: "".into() }))).await;
    await_clients_close(&mut incoming).await;
}

/// Runs the call: `None` once its response has been sent whole, else why it
/// ended early (the call is then dropped mid-flight: cancelled).
async fn run(
    incoming: &mut Incoming,
    (out, output): (&mpsc::Sender<Message>, &Mutex<Output>),
    calls: Router,
    path: String,
    peer: Option<ConnectInfo<SocketAddr>>,
    budget: &Budget,
) -> Option<Ending> {
    let mut pings = Pings::default();
    let metadata = match tokio::time::timeout(HEADERS_TIMEOUT, incoming.next(&mut pings)).await {
        Ok(Ok(Some(Read::Frame(Frame::Headers(metadata))))) => metadata,
        Ok(Ok(None)) => return Some(Ending::Cancelled),
        Ok(Ok(Some(_))) => {
            return Some(protocol_error("the first frame of a call must be its headers"));
        }
        Ok(Err(status)) => return Some(Ending::ProtocolError(status)),
        Err(_) => return Some(Ending::ProtocolError(Status::deadline_exceeded("grpc-ws: no call headers in time"))),
    };
    // The client's window: 1 MiB of its messages, as natively. It may send at
    // most its window of messages the call has not taken (each run holds one
    // at least), so a queue of the most it can be never fills, and the socket
    // is always read. (The queue takes memory as it fills, not up front.)
    let window = Window::sized(WINDOW_BYTES);
    let (requests, taken) = mpsc::channel(window.most() as usize);
    let unread = Arc::new(Mutex::new(Unread { held: budget.none(), granted: 0 }));
    let request = http::Request::builder().method(http::Method::POST).uri(path.as_str());
    let Ok(mut request) = request.body(request_body(taken, window, out.clone(), Arc::clone(&unread))) else {
        return Some(Ending::ProtocolError(Status::unimplemented(format!(
            "grpc-ws: {} is not a method's path",
            crate::echo::quoted(&path)
        ))));
    };
    *request.headers_mut() = call_headers(metadata);
    // As a native call arrives; the gRPC-Web layer refuses plain gRPC over HTTP/1.1.
    *request.version_mut() = http::Version::HTTP_2;
    request.extensions_mut().insert(Protocol::WebSocket);
    // The service holds what the call gathers (an update, looked-up orders) in the same share.
    request.extensions_mut().insert(budget.clone());
    if let Some(peer) = peer {
        request.extensions_mut().insert(peer);
    }
    let credit = Semaphore::new(INITIAL_WINDOW as usize);
    tokio::select! {
        ending = read_requests(incoming, requests, (&credit, &unread), pings) => Some(ending),
        () = respond(calls.oneshot(request), (out, output), &credit) => None,
    }
}

/// What the client has sent that the call has not taken, and what the
/// server has granted it beyond the initial window.
#[derive(Debug)]
struct Unread {
    /// The bytes of the messages not yet taken, in the server's budget.
    held: Held,
    /// Messages granted in window updates so far.
    granted: u64,
}

/// The request body: the client's messages as the call takes them, a run at
/// a time, granting the client more as its [`Window`] counts them (what was
/// taken, once half the window has been, resized to the messages' size).
fn request_body(
    taken: mpsc::Receiver<Result<(Bytes, u32), BoxError>>,
    mut window: Window,
    out: mpsc::Sender<Message>,
    unread: Arc<Mutex<Unread>>,
) -> axum::body::Body {
    let frames = ReceiverStream::new(taken).then(move |run| {
        let grant = run.as_ref().ok().and_then(|(messages, count)| {
            let mut unread = lock(&unread);
            unread.held.shrink(messages.len());
            let more = window.read(*count, messages.len())?;
            // Counted before it is sent: the client may use it the moment it arrives.
            unread.granted += u64::from(more);
            Some((out.clone(), more))
        });
        async move {
            if let Some((out, more)) = grant {
                let _ = out.send(Message::Binary(Frame::WindowUpdate(more).encode().into())).await;
            }
            // A message frame is a gRPC length-prefixed message, byte for byte.
            run.map(|(messages, _)| http_body::Frame::data(messages))
        }
    });
    axum::body::Body::new(http_body_util::StreamBody::new(frames))
}

/// Reads the client's frames for as long as the call runs: messages for the
/// call, its half-close, window updates; ends when the client goes or breaks
/// the protocol.
async fn read_requests(
    incoming: &mut Incoming,
    requests: Requests,
    (credit, unread): (&Semaphore, &Mutex<Unread>),
    mut pings: Pings,
) -> Ending {
    let mut requests = Some(requests);
    // Messages the client has sent, against INITIAL_WINDOW and the server's grants.
    let mut received: u64 = 0;
    let ending = loop {
        let frame = match incoming.next(&mut pings).await {
            Ok(Some(Read::Messages(messages, count))) => {
                if let Err(ending) = take_messages(requests.as_ref(), unread, &mut received, messages, count) {
                    break ending;
                }
                continue;
            }
            Ok(Some(Read::Frame(frame))) => frame,
            Ok(None) => break Ending::Cancelled,
            Err(status) => break Ending::ProtocolError(status),
        };
        match frame {
            Frame::Message(message) => {
                let framed = grpc_ws::grpc_frame(&message);
                if let Err(ending) = take_messages(requests.as_ref(), unread, &mut received, framed, 1) {
                    break ending;
                }
            }
            Frame::EndOfStream if requests.is_some() => requests = None,
            Frame::EndOfStream => break protocol_error("end of stream twice"),
            Frame::WindowUpdate(more) => {
                // The client reads what it is sent, its pongs among them.
                pings.reading();
                // As in HTTP/2, a window may not grow past 2^31 - 1.
                let room = MAX_WINDOW - credit.available_permits().min(MAX_WINDOW);
                match usize::try_from(more) {
                    Ok(more) if more <= room => credit.add_permits(more),
                    _ => break protocol_error("a window update past 2^31 - 1 messages"),
                }
            }
            Frame::Headers(_) => break protocol_error("headers may only open a call"),
        }
    };
    if let Some(requests) = requests {
        // Before the half-close, an error in the request stream makes sure a
        // handler cannot take the cancellation for one.
        let _ = requests.try_send(Err("the client closed the WebSocket".into()));
    }
    ending
}

/// Passes a run of `count` client messages to the call, if the client was
/// granted them and the call may hold them; else how the call ends.
fn take_messages(
    requests: Option<&Requests>,
    shared: &Mutex<Unread>,
    received: &mut u64,
    messages: Bytes,
    count: u32,
) -> Result<(), Ending> {
    let len = messages.len();
    let mut unread = lock(shared);
    let bytes = unread.held.bytes();
    if bytes > 0 && bytes + len > READ_AHEAD_BYTES {
        return Err(Ending::ProtocolError(Status::resource_exhausted(format!(
            "grpc-ws: the call holds {bytes} bytes of messages it has not read yet, and {len} more would pass its {} \
             MiB: wait for its window updates",
            READ_AHEAD_BYTES >> 20
        ))));
    }
    *received += u64::from(count);
    if *received > u64::from(INITIAL_WINDOW) + unread.granted {
        return Err(protocol_error("the client sent more messages than granted"));
    }
    unread.held.grow(len).map_err(|spent| Ending::ProtocolError(OrderError::from(spent).into()))?;
    drop(unread);
    match requests.map(|requests| requests.try_send(Ok((messages, count)))) {
        None => Err(protocol_error("a message after end of stream")),
        Some(Err(TrySendError::Full(_))) => Err(protocol_error("the client sent more messages than granted")),
        Some(Ok(())) => Ok(()),
        // The call no longer reads requests (it answered early): read on.
        Some(Err(TrySendError::Closed(_))) => {
            lock(shared).held.shrink(len);
            Ok(())
        }
    }
}

/// The pings a call answers: tungstenite queues a pong for each, and a
/// client that pings without reading would have them pile up in the
/// socket's write buffer, outside the server's budget. A call may ping
/// [`PING_BURST`] times, and once a second after that; each window update
/// (the client reading what it is sent) restores the burst. Past that the
/// call ends RESOURCE_EXHAUSTED. Browsers never ping from a page.
#[derive(Debug)]
struct Pings {
    left: u32,
    since: tokio::time::Instant,
}

/// Pings a call may send at once: their pongs fit a call's allowance.
const PING_BURST: u32 = 32;

impl Default for Pings {
    fn default() -> Self {
        Self { left: PING_BURST, since: tokio::time::Instant::now() }
    }
}

impl Pings {
    /// One more ping answered, or the status that ends the call.
    fn answered(&mut self) -> Result<(), Status> {
        let earned = u32::try_from(self.since.elapsed().as_secs()).unwrap_or(u32::MAX);
        if earned > 0 {
            self.left = self.left.saturating_add(earned).min(PING_BURST);
            self.since = tokio::time::Instant::now();
        }
        self.left = self.left.checked_sub(1).ok_or_else(|| {
            Status::resource_exhausted(format!(
                "grpc-ws: more than {PING_BURST} pings, and more than one a second, from a client that reads no \
                 replies: their pongs would pile up"
            ))
        })?;
        Ok(())
    }

    fn reading(&mut self) {
        self.left = PING_BURST;
    }
}

fn lock(unread: &Mutex<Unread>) -> std::sync::MutexGuard<'_, Unread> {
    // A holder's count stays consistent even if a panic poisoned the lock.
    unread.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn protocol_error(problem: &str) -> Ending {
    Ending::ProtocolError(Status::internal(format!("grpc-ws: {problem}")))
}

/// The client's side of the socket, read a frame at a time.
struct Incoming {
    socket: SplitStream<WebSocket>,
    revision: Revision,
    /// The frames of the last message not read yet (v2: it may carry several).
    pending: Option<Frames>,
}

/// What the client sent next: a run of messages, or any other frame.
enum Read {
    /// gRPC length-prefixed messages back to back, and how many.
    Messages(Bytes, u32),
    Frame(Frame),
}

impl Incoming {
    /// What the client sent next: the message frames that follow in one
    /// WebSocket message together (up to [`READ_CHUNK`] bytes), any other
    /// frame alone; `None` when the socket closes or breaks.
    async fn next(&mut self, pings: &mut Pings) -> Result<Option<Read>, Status> {
        let malformed = |error: FrameError| Status::internal(format!("grpc-ws: {error}"));
        loop {
            if let Some((messages, count)) = self.pending.as_mut().and_then(|frames| frames.next_messages(READ_CHUNK)) {
                return Ok(Some(Read::Messages(messages, count)));
            }
            if let Some(raw) = self.pending.as_mut().and_then(Iterator::next) {
                return raw
                    .and_then(|raw| Frame::decode(&raw))
                    .map(|frame| Some(Read::Frame(frame)))
                    .map_err(malformed);
            }
            self.pending = None;
            match self.socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Ping(_))) => pings.answered()?,
                Some(Ok(Message::Pong(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Err(Status::internal("grpc-ws: frames are binary messages, not text"));
                }
                Some(Ok(Message::Binary(bytes))) if bytes.is_empty() => {
                    return Err(malformed(FrameError::Short(0)));
                }
                Some(Ok(Message::Binary(bytes))) => self.pending = Some(grpc_ws::frames_of(self.revision, bytes)),
            }
        }
    }
}

/// The response messages queued for the socket and not yet written, held in
/// the server's budget (beyond the call's allowance): a client may grant
/// window for 64 messages of 4 MiB and read none.
#[derive(Debug)]
pub(super) struct Output {
    queued: usize,
    held: Held,
}

impl Output {
    fn queue(&mut self, bytes: usize) -> Result<(), crate::budget::Spent> {
        let needed = crate::budget::beyond_allowance(self.queued + bytes);
        if needed > self.held.bytes() {
            self.held.grow(needed - self.held.bytes())?;
        }
        self.queued += bytes;
        Ok(())
    }

    fn written(&mut self, bytes: usize) {
        self.queued = self.queued.saturating_sub(bytes);
        let needed = crate::budget::beyond_allowance(self.queued);
        self.held.shrink(self.held.bytes().saturating_sub(needed));
    }
}

fn lock_output(output: &Mutex<Output>) -> std::sync::MutexGuard<'_, Output> {
    // The count stays consistent even if a panic poisoned the lock.
    output.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends the call's response: headers, each message as the window allows, trailers.
async fn respond<F>(response: F, (out, output): (&mpsc::Sender<Message>, &Mutex<Output>), credit: &Semaphore)
where
    F: Future<Output = Result<Response, std::convert::Infallible>>,
{
    let Ok(response) = response.await;
    let (parts, mut body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        // Trailers-only: the call failed before it answered.
        let _ = out.send(headers_message(&trailers_of(&status))).await;
        return;
    }
    let mut headers = parts.headers;
    headers.remove(CONTENT_TYPE);
    if out.send(headers_message(&headers)).await.is_err() {
        return;
    }
    // The start of a message whose end is still to come.
    let mut partial = BytesMut::new();
    let trailers = loop {
        match body.frame().await {
            None => break trailers_of(&Status::internal("the call ended without a status")),
            Some(Err(error)) => break trailers_of(&Status::internal(format!("the call failed: {error}"))),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    if !partial.is_empty() {
                        partial.extend_from_slice(&data);
                        data = partial.split().freeze();
                    }
                    // The messages ready go on together, as many as the window allows.
                    loop {
                        if grpc_ws::leading_messages(&data, grpc_ws::MAX_BATCH_BYTES, 1).1 == 0 {
                            if grpc_ws::whole_frame_len(&data).is_some() {
                                // Whole, but not a plain message: compressed, which grpc-ws cannot carry.
                                let status = Status::internal("grpc-ws: the call's answer was compressed");
                                let _ = out.send(headers_message(&trailers_of(&status))).await;
                                return;
                            }
                            break;
                        }
                        let Ok(permit) = credit.acquire().await else { return };
                        permit.forget();
                        let more = u32::try_from(credit.available_permits()).unwrap_or(u32::MAX);
                        let (len, count) =
                            grpc_ws::leading_messages(&data, grpc_ws::MAX_BATCH_BYTES, more.saturating_add(1));
                        if let Ok(permits) = credit.try_acquire_many(count - 1) {
                            permits.forget();
                        }
                        let messages = data.split_to(len);
                        let queued = lock_output(output).queue(messages.len());
                        if let Err(spent) = queued {
                            let status = Status::from(crate::domain::error::OrderError::ServerFull(spent));
                            let _ = out.send(headers_message(&trailers_of(&status))).await;
                            return;
                        }
                        // A message frame is a gRPC length-prefixed message, byte for byte.
                        if out.send(Message::Binary(messages)).await.is_err() {
                            return;
                        }
                    }
                    partial.extend_from_slice(&data);
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        break trailers;
                    }
                }
            },
        }
    };
    let _ = out.send(headers_message(&trailers)).await;
}

/// Writes what is queued, in one flush per burst rather than one per message;
/// the response messages written go out of the budget. Each binary message
/// queued holds one frame or more. In v2 the frames of a burst go out in as
/// few WebSocket messages as [`grpc_ws::MAX_BATCH_BYTES`] allows: whatever is
/// queued when the writer wakes, never waiting for more (and what comes alone
/// goes as it is, uncopied). In v1 each frame is a WebSocket message.
async fn write_out(
    mut sink: SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Message>,
    output: Arc<Mutex<Output>>,
    revision: Revision,
) {
    let mut batch = Batch::default();
    while let Some(first) = queued.recv().await {
        let mut burst = 0;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            next = queued.try_recv().ok();
            let Message::Binary(frames) = message else {
                // A Close: what is gathered goes first.
                if !feed(&mut sink, &mut batch).await || sink.feed(message).await.is_err() {
                    return;
                }
                continue;
            };
            burst += frames.len();
            let fed = match revision {
                Revision::V1 => feed_one_by_one(&mut sink, frames).await,
                Revision::V2 if batch.is_empty() && !matches!(next, Some(Message::Binary(_))) => {
                    sink.feed(Message::Binary(frames)).await.is_ok()
                }
                Revision::V2 => {
                    let room = batch.has_room_for(frames.len()) || feed(&mut sink, &mut batch).await;
                    batch.push(&frames);
                    room
                }
            };
            if !fed {
                return;
            }
        }
        if !feed(&mut sink, &mut batch).await || sink.flush().await.is_err() {
            return;
        }
        lock_output(&output).written(burst);
    }
}

/// Queues each frame of `frames` as a WebSocket message of its own (v1); false if the socket is gone.
async fn feed_one_by_one(sink: &mut SplitSink<WebSocket, Message>, frames: Bytes) -> bool {
    for frame in grpc_ws::frames_of(Revision::V2, frames) {
        let Ok(frame) = frame else { return false };
        if sink.feed(Message::Binary(frame)).await.is_err() {
            return false;
        }
    }
    true
}

/// Queues the batch, if it holds anything, as one WebSocket message; false if the socket is gone.
async fn feed(sink: &mut SplitSink<WebSocket, Message>, batch: &mut Batch) -> bool {
    batch.is_empty() || sink.feed(Message::Binary(batch.take().into())).await.is_ok()
}

/// The native request headers of a call with this metadata. grpc-ws frames
/// are never compressed, so what a client says of compression is dropped
/// too: the call's answer must not be compressed for it.
fn call_headers(metadata: HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &metadata {
        let transport = matches!(
            name.as_str(),
            "content-type"
                | "te"
                | "host"
                | "connection"
                | "upgrade"
                | "content-length"
                | "transfer-encoding"
                | "grpc-encoding"
                | "grpc-accept-encoding"
        );
        if !transport {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("te", HeaderValue::from_static("trailers"));
    headers
}

fn trailers_of(status: &Status) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    if status.add_header(&mut trailers).is_err() {
        trailers.insert("grpc-status", HeaderValue::from(Code::Internal as i32));
    }
    trailers
}

fn headers_message(headers: &HeaderMap) -> Message {
    Message::Binary(Frame::Headers(headers.clone()).encode().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_call_pings_in_a_burst_then_once_a_second_and_reading_restores_the_burst() {
        let mut pings = Pings::default();
        for _ in 0..PING_BURST {
            pings.answered().expect("within the burst");
        }
        let refused = pings.answered().expect_err("past the burst");
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert!(refused.message().contains("pings"), "{}", refused.message());
        tokio::time::advance(std::time::Duration::from_secs(3)).await;
        for _ in 0..3 {
            pings.answered().expect("one a second");
        }
        assert!(pings.answered().is_err(), "no more than one a second");
        pings.reading();
        for _ in 0..PING_BURST {
            pings.answered().expect("the burst again once the client reads");
        }
    }

    #[test]
    fn transport_headers_are_replaced_and_metadata_kept() {
        let mut metadata = HeaderMap::new();
        metadata.insert("authorization", HeaderValue::from_static("Bearer t"));
        metadata.insert("content-type", HeaderValue::from_static("text/plain"));
        metadata.insert("host", HeaderValue::from_static("elsewhere"));
        metadata.insert("grpc-accept-encoding", HeaderValue::from_static("gzip"));
        let headers = call_headers(metadata);
        assert_eq!(headers["authorization"], "Bearer t");
        assert_eq!(headers["content-type"], "application/grpc");
        assert!(!headers.contains_key("host"));
        assert!(!headers.contains_key("grpc-accept-encoding"), "grpc-ws frames are never compressed");
    }
}
