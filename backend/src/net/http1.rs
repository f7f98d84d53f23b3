//! Early answers over HTTP/1.1 that reach the client.
//!
//! Some calls are answered as soon as their headers arrive: a write without
//! the token, a message over the limit, an unknown method. On HTTP/2 the
//! stream is reset and the connection goes on. On HTTP/1.1 the request body
//! is still on its way, and a server that closes the socket with it unread
//! makes the kernel reset the connection, which can destroy the answer before
//! the client reads it (browsers then report "Failed to fetch", node `EPIPE`).
//! So, as nginx and Apache do:
//! - [`Unread`]: the body a call left unread is read and discarded, up to
//!   [`DRAIN_BYTES`] and [`DRAIN_TIME`], before the answer is sent; the
//!   connection then serves the next request as usual.
//! - Past those bounds the answer says `connection: close`, and
//!   [`Lingering`] closes gracefully: it shuts the write side, then reads
//!   and discards what the client still sends, until it closes its side or
//!   [`LINGER_TIME`] passes, and only then closes the socket.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most of a request body left unread that is read to keep the connection.
pub(crate) const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// How long the server waits for the rest of a body left unread.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(5);

/// How long a closing connection reads what its client still sends.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(2);

/// A request body that, if the call drops it before its end, is handed back
/// (through [`Unread::take`]) instead of being dropped with the connection's
/// input unread.
#[derive(Debug)]
pub(crate) struct Returning<B> {
    body: Option<B>,
    unread: Unread<B>,
}

/// Where a body left unread is handed back.
#[derive(Debug)]
pub(crate) struct Unread<B>(Arc<Mutex<Option<B>>>);

impl<B> Clone for Unread<B> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<B: Body> Unread<B> {
    /// `body`, watched: what the call leaves unread of it comes back here.
    pub(crate) fn watch(body: B) -> (Returning<B>, Self) {
        let unread = Self(Arc::new(Mutex::new(None)));
        (Returning { body: Some(body), unread: unread.clone() }, unread)
    }

    /// The body, if the call dropped it before its end.
    pub(crate) fn take(&self) -> Option<B> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl<B: Body + Unpin> Body for Returning<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        match self.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map(Body::size_hint).unwrap_or_default()
    }
}

impl<B> Drop for Returning<B> {
    fn drop(&mut self) {
        if let Some(body) = self.body.take() {
            *self.unread.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(body);
        }
    }
}

/// Reads `body` to its end and discards it, within [`DRAIN_BYTES`] and
/// [`DRAIN_TIME`]; false if it could not (too long, too slow, or broken).
pub(crate) async fn drain<B>(mut body: B) -> bool
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut left = DRAIN_BYTES;
    let to_the_end = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                let Some(still) = left.checked_sub(data.len()) else { return false };
                left = still;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, to_the_end).await.unwrap_or(false)
}

/// The `connection: close` an answer carries when its request's body could not be drained.
pub(crate) const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// A connection's socket that closes gracefully: see the module's docs.
#[derive(Debug)]
pub(crate) struct Lingering<I> {
    io: I,
    closing: Option<Closing>,
}

#[derive(Debug)]
struct Closing {
    write_shut: bool,
    until: Pin<Box<tokio::time::Sleep>>,
}

impl<I> Lingering<I> {
    pub(crate) fn new(io: I) -> Self {
        Self { io, closing: None }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Lingering<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Shuts the write side, then reads and discards until the client shuts
    /// its own (or errs), or [`LINGER_TIME`] passes.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Self { io, closing } = self.get_mut();
        let closing = closing
            .get_or_insert_with(|| Closing { write_shut: false, until: Box::pin(tokio::time::sleep(LINGER_TIME)) });
        if !closing.write_shut {
            ready!(Pin::new(&mut *io).poll_shutdown(cx))?;
            closing.write_shut = true;
        }
        let mut scratch = [0; 8 * 1024];
        loop {
            if closing.until.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut discarded = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut *io).poll_read(cx, &mut discarded)) {
                Ok(()) if discarded.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => {}
                Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{Full, StreamBody};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_body_dropped_before_its_end_comes_back_and_a_finished_one_does_not() {
        let (body, unread) = Unread::watch(Full::new(Bytes::from_static(b"left unread")));
        drop(body);
        let returned = unread.take().expect("handed back");
        assert_eq!(returned.collect().await.expect("read").to_bytes(), "left unread");

        let (mut body, unread) = Unread::watch(Full::new(Bytes::from_static(b"read")));
        while body.frame().await.is_some() {}
        drop(body);
        assert!(unread.take().is_none_or(|rest| rest.is_end_stream()), "nothing left to drain");
    }

    #[tokio::test]
    async fn drain_reads_to_the_end_within_its_bound_and_gives_up_past_it() {
        let chunks = |count: usize| {
            let frames =
                (0..count).map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![0; 1 << 20]))));
            StreamBody::new(futures::stream::iter(frames))
        };
        assert!(drain(chunks(DRAIN_BYTES >> 20)).await, "up to the bound");
        assert!(!drain(chunks((DRAIN_BYTES >> 20) + 1)).await, "past it");
    }

    #[tokio::test(start_paused = true)]
    async fn drain_gives_up_on_a_body_that_stalls() {
        let stalled = StreamBody::new(futures::stream::pending::<Result<Frame<Bytes>, std::convert::Infallible>>());
        assert!(!drain(stalled).await);
    }

    #[tokio::test]
    async fn closing_shuts_the_write_side_and_reads_until_the_client_closes_its_own() {
        let (server, mut client) = tokio::io::duplex(64);
        let mut server = Lingering::new(server);
        let closing = tokio::spawn(async move { server.shutdown().await });
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.expect("the server's side ends");
        assert!(seen.is_empty());
        // The client still sends (the body it had begun); the server reads it all.
        client.write_all(&vec![7; 64 * 1024]).await.expect("the server still reads");
        drop(client);
        closing.await.expect("join").expect("closed");
    }

    #[tokio::test(start_paused = true)]
    async fn closing_waits_no_longer_than_the_linger_time() {
        let (server, _client_that_never_closes) = tokio::io::duplex(64);
        Lingering::new(server).shutdown().await.expect("closed after the linger time");
    }
}
