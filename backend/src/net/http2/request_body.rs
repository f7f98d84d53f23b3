//! The body of an HTTP/2 request: its DATA taken from h2 the moment it arrives
//! and kept compactly, while flow-control credit goes back to the client only
//! as the application consumes the bytes.
//!
//! Why not leave the frames in h2 until the application asks, as hyper does?
//! h2 charges every small DATA frame it holds unread about 256 bytes against
//! a per-connection budget and closes the connection (GOAWAY
//! ENHANCE_YOUR_CALM "too_many_data_frames") when it runs out. gRPC clients
//! (grpc-go, grpcio, grpc-js) put each message in a DATA frame of its own, and
//! `processOrders` reads its next id only once the last one's shipments are
//! taken, so frames of 10 bytes pile up unread by design: about 2,000 of them
//! used to end the connection, while the flow-control window allows 100,000.
//! Drained into one buffer, a frame costs its payload bytes, no more; the
//! window still holds the client back, because the credit is returned only
//! when the bytes are read.
//!
//! What lies drained and unread is client data the server holds, so it is
//! drawn from its connection's share of the server's [`Budget`] (beyond a stream's small allowance, so
//! that an ordinary call never waits on it): a connection's window (1 MiB) is
//! small, but a client may open thousands of connections. A stream whose DATA would
//! take the connection or the server past its limit fails with
//! RESOURCE_EXHAUSTED naming the flag; what it held is dropped and credited back, so its
//! connection's other calls go on.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use h2::RecvStream;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

use crate::budget::{Budget, Held};
use crate::domain::error::OrderError;

/// The most a single read of the body hands the application: credit goes
/// back in steps of at most this size.
const MAX_CHUNK: usize = 64 * 1024;

/// DATA frames at least this large are kept as they came; smaller ones are
/// copied together, so that their count costs nothing.
const COPY_BELOW: usize = 4 * 1024;

/// Unread bytes are drawn from the budget in steps of this size, and given
/// back only when a step and more lies unused: a stream whose reader keeps
/// up costs the budget's counter nothing per frame.
const BUDGET_STEP: usize = 4 * 1024;

/// Splits an h2 request stream into the body the application reads and the
/// [`Drain`] that must be polled alongside it to move DATA out of h2; what
/// lies unread is held in `budget`.
pub(crate) fn split(recv: RecvStream, budget: &Budget) -> (RequestBody, Drain) {
    let mut inbox = Inbox::new(recv, budget);
    // A request that has arrived whole (a unary call, mostly) needs no more:
    // its bytes are in hand, so its credit goes back at once.
    match first_look(&mut inbox) {
        Some(whole) => (RequestBody::Whole(whole), Drain(None)),
        None => {
            let shared = Arc::new(Mutex::new(inbox));
            (RequestBody::Streaming { shared: Arc::clone(&shared), done: false }, Drain(Some(shared)))
        }
    }
}

/// Takes what h2 already holds of the request; its body if that is all of
/// it, else `None` with what was taken left in `inbox`.
fn first_look(inbox: &mut Inbox) -> Option<Option<Bytes>> {
    // Polled with a waker that does nothing: the drain polls again, with the
    // task's own, before anything waits on it.
    let mut cx = Context::from_waker(Waker::noop());
    let mut whole: Option<Bytes> = None;
    loop {
        let recv = inbox.recv.as_mut()?;
        match recv.poll_data(&mut cx) {
            Poll::Ready(Some(Ok(data))) => {
                if whole.is_none() && inbox.chunks.is_empty() && !inbox.abandoned {
                    whole = Some(data);
                    continue;
                }
                if let Some(earlier) = whole.take() {
                    inbox.push(earlier);
                }
                inbox.push(data);
            }
            Poll::Ready(None) => {
                let trailers = recv.poll_trailers(&mut cx);
                if matches!(trailers, Poll::Ready(Ok(None))) && inbox.chunks.is_empty() && !inbox.abandoned {
                    inbox.credit(whole.as_ref().map_or(0, Bytes::len));
                    return Some(whole);
                }
                if let Some(data) = whole {
                    inbox.push(data);
                }
                if let Poll::Ready(end) = trailers {
                    inbox.finish(end.map_err(stream_failed));
                }
                return None;
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(data) = whole {
                    inbox.push(data);
                }
                inbox.finish(Err(stream_failed(error)));
                return None;
            }
            Poll::Pending => {
                if let Some(data) = whole {
                    inbox.push(data);
                }
                return None;
            }
        }
    }
}

/// What has arrived and not yet been read.
#[derive(Debug)]
pub(crate) struct Inbox {
    /// The stream: polled by the drain, credited by the reader.
    recv: Option<RecvStream>,
    /// Received DATA, in order: large frames as they came, runs of small ones
    /// copied together into the last chunk.
    chunks: VecDeque<Chunk>,
    /// The bytes in `chunks`, and the budget they are held in.
    unread: usize,
    held: Held,
    /// Set once the request ends: its trailers, or the error that ended it.
    end: Option<Result<Option<HeaderMap>, Status>>,
    /// The drain has seen the end (the reader may not have yet).
    drained: bool,
    /// The reader waiting for more.
    reader: Option<Waker>,
    /// The reader is gone: what arrives now is acknowledged and dropped.
    abandoned: bool,
}

#[derive(Debug)]
enum Chunk {
    Whole(Bytes),
    Copied(BytesMut),
}

/// Appends `data` to `chunks`: a large frame as it is, a small one copied
/// onto the last chunk of copies.
fn push(chunks: &mut VecDeque<Chunk>, data: Bytes) {
    if data.len() >= COPY_BELOW {
        chunks.push_back(Chunk::Whole(data));
        return;
    }
    match chunks.back_mut() {
        Some(Chunk::Copied(tail)) if tail.len() + data.len() <= MAX_CHUNK => tail.extend_from_slice(&data),
        _ => {
            let mut tail = BytesMut::with_capacity(COPY_BELOW.max(data.len()));
            tail.extend_from_slice(&data);
            chunks.push_back(Chunk::Copied(tail));
        }
    }
}

impl Inbox {
    fn new(recv: RecvStream, budget: &Budget) -> Self {
        Self {
            recv: Some(recv),
            chunks: VecDeque::new(),
            unread: 0,
            held: budget.none(),
            end: None,
            drained: false,
            reader: None,
            abandoned: false,
        }
    }

    /// Keeps `data` for the reader, held in the budget; past the budget the
    /// request fails instead, and everything it held is dropped and credited.
    fn push(&mut self, data: Bytes) {
        if self.abandoned {
            // No one will read these: let the client send on (or finish).
            self.credit(data.len());
            return;
        }
        let unread = self.unread + data.len();
        let needed = crate::budget::beyond_allowance(unread.next_multiple_of(BUDGET_STEP));
        if needed > self.held.bytes()
            && let Err(spent) = self.held.grow(needed - self.held.bytes())
        {
            self.unread += data.len();
            push(&mut self.chunks, data);
            self.refuse(Status::from(OrderError::ServerFull(spent)));
            return;
        }
        self.unread = unread;
        push(&mut self.chunks, data);
    }

    fn pop(&mut self) -> Option<Bytes> {
        let data = match self.chunks.pop_front()? {
            Chunk::Whole(data) => data,
            Chunk::Copied(data) => data.freeze(),
        };
        self.unread -= data.len();
        let needed = crate::budget::beyond_allowance(self.unread.next_multiple_of(BUDGET_STEP));
        if self.held.bytes() > needed + BUDGET_STEP {
            self.held.shrink(self.held.bytes() - needed);
        }
        Some(data)
    }

    /// Ends the request with `status`: the reader gets it next, and what was
    /// unread, or arrives later, is dropped and credited back to the client.
    fn refuse(&mut self, status: Status) {
        let mut unread = 0;
        while let Some(data) = self.pop() {
            unread += data.len();
        }
        self.credit(unread);
        self.abandoned = true;
        self.finish(Err(status));
    }

    /// The request has ended (unless it already had: a refusal stands).
    fn finish(&mut self, end: Result<Option<HeaderMap>, Status>) {
        if self.end.is_none() {
            self.end = Some(end);
        }
    }

    /// Gives the client `read` bytes more of window.
    fn credit(&mut self, read: usize) {
        if let Some(recv) = self.recv.as_mut()
            && read > 0
        {
            let _ = recv.flow_control().release_capacity(read);
        }
    }
}

fn lock(shared: &Mutex<Inbox>) -> MutexGuard<'_, Inbox> {
    // Nothing that can panic runs under this lock; a poisoned one is still consistent.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Moves a request's DATA out of h2 as it arrives. It ends with the request
/// (or when the stream fails); polling it after that is harmless.
#[derive(Debug)]
pub(crate) struct Drain(Option<Arc<Mutex<Inbox>>>);

impl std::future::Future for Drain {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(shared) = self.0.as_ref() else { return Poll::Ready(()) };
        let mut inbox = lock(shared);
        let inbox = &mut *inbox;
        if inbox.drained {
            return Poll::Ready(());
        }
        let mut received = false;
        let end = loop {
            let Some(recv) = inbox.recv.as_mut() else { return Poll::Ready(()) };
            match recv.poll_data(cx) {
                Poll::Pending => break None,
                Poll::Ready(Some(Ok(data))) => {
                    received = true;
                    inbox.push(data);
                }
                Poll::Ready(Some(Err(error))) => break Some(Err(stream_failed(error))),
                Poll::Ready(None) => match recv.poll_trailers(cx) {
                    Poll::Pending => break None,
                    Poll::Ready(trailers) => break Some(trailers.map_err(stream_failed)),
                },
            }
        };
        let ended = end.is_some();
        if let Some(end) = end {
            inbox.finish(end);
            inbox.drained = true;
        }
        if (received || ended)
            && let Some(reader) = inbox.reader.take()
        {
            reader.wake();
        }
        if ended {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// The request body the application reads.
#[derive(Debug)]
pub(crate) enum RequestBody {
    /// The whole body, received before the call began (`None` once read, or if empty).
    Whole(Option<Bytes>),
    /// A body still arriving, read as the drain brings it in.
    Streaming { shared: Arc<Mutex<Inbox>>, done: bool },
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let (shared, done) = match &mut *self {
            RequestBody::Whole(data) => return Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
            RequestBody::Streaming { shared, done } => (shared, done),
        };
        if *done {
            return Poll::Ready(None);
        }
        let mut inbox = lock(shared);
        if let Some(data) = inbox.pop() {
            // Read now: the client may send as much again.
            inbox.credit(data.len());
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        match inbox.end.take() {
            None => {
                inbox.reader = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(end) => {
                *done = true;
                Poll::Ready(match end {
                    Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
                    Ok(None) => None,
                    Err(error) => Some(Err(error)),
                })
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Whole(data) => data.is_none(),
            RequestBody::Streaming { done: true, .. } => true,
            RequestBody::Streaming { shared, .. } => {
                let inbox = lock(shared);
                inbox.chunks.is_empty() && matches!(inbox.end, Some(Ok(None)))
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Whole(data) => SizeHint::with_exact(data.as_ref().map_or(0, |data| data.len() as u64)),
            RequestBody::Streaming { .. } => SizeHint::default(),
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let RequestBody::Streaming { shared, .. } = self else { return };
        let mut inbox = lock(shared);
        inbox.abandoned = true;
        let mut unread = 0;
        while let Some(data) = inbox.pop() {
            unread += data.len();
        }
        inbox.credit(unread);
    }
}

/// The status a call hears when its request stream fails in h2 (reset by
/// the client, or the connection lost): tonic's own reading of the reason,
/// except for a client's CANCEL. tonic reads that as CANCELLED, and its
/// decoder takes a CANCELLED request stream for one the client ended: an
/// update would store the orders it had so far, processing would ship its
/// partial batch. A cancellation is no half-close, so the call hears ABORTED.
/// (The call is normally dropped first: `serve_stream` watches for resets.)
fn stream_failed(error: h2::Error) -> Status {
    if error.is_remote() && error.reason() == Some(h2::Reason::CANCEL) {
        return Status::aborted("the client cancelled the call (RST_STREAM CANCEL) before it ended its request stream");
    }
    Status::from_error(Box::new(error))
}
