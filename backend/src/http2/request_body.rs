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

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use h2::{FlowControl, RecvStream};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// The most a single read of the body hands the application: credit goes
/// back in steps of at most this size.
const MAX_CHUNK: usize = 64 * 1024;

/// DATA frames at least this large are kept as they came; smaller ones are
/// copied together, so that their count costs nothing.
const COPY_BELOW: usize = 4 * 1024;

/// Splits an h2 request stream into the body the application reads and the
/// [`Drain`] that must be polled alongside it to move DATA out of h2.
pub(crate) fn split(mut recv: RecvStream) -> (RequestBody, Drain) {
    let flow = recv.flow_control().clone();
    let shared = Arc::new(Mutex::new(Inbox::default()));
    (RequestBody { shared: Arc::clone(&shared), flow, done: false }, Drain { recv: Some(recv), shared })
}

/// What has arrived and not yet been read.
#[derive(Debug, Default)]
struct Inbox {
    /// Received DATA, in order: large frames as they came, runs of small ones
    /// copied together into the last chunk.
    chunks: VecDeque<Chunk>,
    /// Set once the request ends: its trailers, or the error that ended it.
    end: Option<Result<Option<HeaderMap>, h2::Error>>,
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

impl Inbox {
    fn push(&mut self, data: Bytes) {
        if data.len() >= COPY_BELOW {
            self.chunks.push_back(Chunk::Whole(data));
            return;
        }
        match self.chunks.back_mut() {
            Some(Chunk::Copied(tail)) if tail.len() + data.len() <= MAX_CHUNK => tail.extend_from_slice(&data),
            _ => {
                let mut tail = BytesMut::with_capacity(COPY_BELOW.max(data.len()));
                tail.extend_from_slice(&data);
                self.chunks.push_back(Chunk::Copied(tail));
            }
        }
    }

    fn pop(&mut self) -> Option<Bytes> {
        Some(match self.chunks.pop_front()? {
            Chunk::Whole(data) => data,
            Chunk::Copied(data) => data.freeze(),
        })
    }

    fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

fn lock(shared: &Mutex<Inbox>) -> MutexGuard<'_, Inbox> {
    // Nothing that can panic runs under this lock; a poisoned one is still consistent.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Moves a request's DATA out of h2 as it arrives. It ends with the request
/// (or when the stream fails); polling it after that is harmless.
#[derive(Debug)]
pub(crate) struct Drain {
    recv: Option<RecvStream>,
    shared: Arc<Mutex<Inbox>>,
}

impl std::future::Future for Drain {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(recv) = this.recv.as_mut() else { return Poll::Ready(()) };
        let mut received = Vec::new();
        let end = loop {
            match recv.poll_data(cx) {
                Poll::Pending => break None,
                Poll::Ready(Some(Ok(data))) => received.push(data),
                Poll::Ready(Some(Err(error))) => break Some(Err(error)),
                Poll::Ready(None) => match recv.poll_trailers(cx) {
                    Poll::Pending => break None,
                    Poll::Ready(trailers) => break Some(trailers),
                },
            }
        };
        let ended = end.is_some();
        if received.is_empty() && !ended {
            return Poll::Pending;
        }
        let mut inbox = lock(&this.shared);
        if inbox.abandoned {
            drop(inbox);
            // No one will read these: let the client send on (or finish).
            let unread: usize = received.iter().map(Bytes::len).sum();
            let _ = recv.flow_control().release_capacity(unread);
        } else {
            for data in received {
                inbox.push(data);
            }
            if ended {
                inbox.end = end;
            }
            if let Some(reader) = inbox.reader.take() {
                reader.wake();
            }
        }
        if ended {
            this.recv = None;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// The request body the application reads.
#[derive(Debug)]
pub(crate) struct RequestBody {
    shared: Arc<Mutex<Inbox>>,
    flow: FlowControl,
    done: bool,
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let mut inbox = lock(&this.shared);
        if let Some(data) = inbox.pop() {
            drop(inbox);
            // Read now: the client may send as much again.
            let _ = this.flow.release_capacity(data.len());
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        match inbox.end.take() {
            None => {
                inbox.reader = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(end) => {
                this.done = true;
                Poll::Ready(match end {
                    Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
                    Ok(None) => None,
                    Err(error) => Some(Err(error)),
                })
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        if self.done {
            return true;
        }
        let inbox = lock(&self.shared);
        inbox.is_empty() && matches!(inbox.end, Some(Ok(None)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let mut inbox = lock(&self.shared);
        inbox.abandoned = true;
        let mut unread = 0;
        while let Some(data) = inbox.pop() {
            unread += data.len();
        }
        drop(inbox);
        let _ = self.flow.release_capacity(unread);
    }
}
