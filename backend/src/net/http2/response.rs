//! Sending a response on an HTTP/2 stream: its head, then its body as DATA
//! within the client's flow-control window, then its trailers; abandoned at
//! once if the client resets the stream.
//!
//! What h2 has queued and the socket has not taken is client data the server
//! holds: while a stream waits for room to send more, its queue (up to
//! [`super::MAX_SEND_BUFFER`]) and the data it has yet to send are held in
//! its connection's share of the server's budget, beyond the stream's
//! allowance. A stream that finds the budget spent is reset with ENHANCE_YOUR_CALM (gRPC clients read
//! it as RESOURCE_EXHAUSTED): its queue cannot carry a status past the data
//! its client is not reading.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;

use bytes::{Buf, Bytes};
use h2::server::SendResponse;
use h2::{Reason, SendStream};
use http::{HeaderMap, HeaderName, Response, header};
use http_body::Body;

use crate::budget::{Budget, Held};

/// Why a response was not sent in full.
#[derive(Debug)]
pub(crate) enum Unsent {
    /// The client reset the stream (cancelled the call), with this reason.
    Reset(Reason),
    /// The stream or connection failed under us.
    Stream(h2::Error),
    /// The application's body failed; the stream was reset with INTERNAL_ERROR.
    Body,
    /// The stream waited for its client with the server's budget spent; it
    /// was reset with ENHANCE_YOUR_CALM.
    Full,
}

/// Sends `response` on `respond` to its end; what waits in its queue for the
/// client is held in `budget`.
pub(crate) async fn send<B>(
    respond: &mut SendResponse<Bytes>,
    response: Response<B>,
    budget: &Budget,
) -> Result<(), Unsent>
where
    B: Body<Data = Bytes> + Unpin,
{
    let (parts, body) = response.into_parts();
    let mut head = Response::from_parts(parts, ());
    strip_connection_headers(head.headers_mut());
    let empty = body.is_end_stream();
    let stream = respond.send_response(head, empty).map_err(Unsent::Stream)?;
    if empty {
        return Ok(());
    }
    pipe(body, stream, budget).await
}

/// Streams `body` into `stream`, never asking for window it has no data for
/// (capacity reserved ahead of data can starve other streams of a client that
/// only updates its window once it is spent).
async fn pipe<B>(mut body: B, mut stream: SendStream<Bytes>, budget: &Budget) -> Result<(), Unsent>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut sent = 0;
    loop {
        let frame = poll_fn(|cx| {
            if let Poll::Ready(reset) = stream.poll_reset(cx) {
                return Poll::Ready(Err(reset_of(reset)));
            }
            Pin::new(&mut body).poll_frame(cx).map(Ok)
        })
        .await?;
        let frame = match frame {
            None => return stream.send_data(Bytes::new(), true).map_err(Unsent::Stream),
            Some(Err(_)) => {
                stream.send_reset(Reason::INTERNAL_ERROR);
                return Err(Unsent::Body);
            }
            Some(Ok(frame)) => frame,
        };
        let mut data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                return match frame.into_trailers() {
                    Ok(mut trailers) => {
                        strip_connection_headers(&mut trailers);
                        stream.send_trailers(trailers).map_err(Unsent::Stream)
                    }
                    // A frame of a kind HTTP/2 cannot carry: skip it.
                    Err(_) => continue,
                };
            }
        };
        let last = body.is_end_stream();
        if !data.has_remaining() {
            if last {
                return stream.send_data(data, true).map_err(Unsent::Stream);
            }
            continue;
        }
        stream.reserve_capacity(data.len());
        while data.has_remaining() {
            // Held while this stream waits: what it sent may still be queued,
            // and what it has yet to send.
            let mut waiting: Option<Held> = None;
            let pending = data.len();
            let granted = poll_fn(|cx| {
                if let Poll::Ready(reset) = stream.poll_reset(cx) {
                    return Poll::Ready(Err(reset_of(reset)));
                }
                if stream.capacity() > 0 {
                    return Poll::Ready(Ok(stream.capacity()));
                }
                match stream.poll_capacity(cx) {
                    Poll::Pending if waiting.is_none() => {
                        match budget.take(crate::budget::beyond_allowance(sent.min(super::MAX_SEND_BUFFER) + pending)) {
                            Ok(held) => {
                                waiting = Some(held);
                                Poll::Pending
                            }
                            Err(_) => Poll::Ready(Err(Unsent::Full)),
                        }
                    }
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(Ok(granted))) => Poll::Ready(Ok(granted)),
                    Poll::Ready(Some(Err(error))) => Poll::Ready(Err(Unsent::Stream(error))),
                    Poll::Ready(None) => Poll::Ready(Err(Unsent::Reset(Reason::CANCEL))),
                }
            })
            .await
            .inspect_err(|unsent| {
                if matches!(unsent, Unsent::Full) {
                    stream.send_reset(Reason::ENHANCE_YOUR_CALM);
                }
            })?;
            drop(waiting);
            if granted == 0 {
                continue;
            }
            let piece = data.split_to(granted.min(data.len()));
            sent += piece.len();
            let end = last && !data.has_remaining();
            stream.send_data(piece, end).map_err(Unsent::Stream)?;
        }
        if last {
            return Ok(());
        }
    }
}

pub(super) fn reset_of(reset: Result<Reason, h2::Error>) -> Unsent {
    match reset {
        Ok(reason) => Unsent::Reset(reason),
        Err(error) => Unsent::Stream(error),
    }
}

/// HTTP/2 forbids connection-specific header fields (RFC 9113, 8.2.2); h2
/// refuses a response carrying one, so they go, with any they name.
fn strip_connection_headers(headers: &mut HeaderMap) {
    const HOP_BY_HOP: [HeaderName; 4] =
        [header::TRANSFER_ENCODING, header::UPGRADE, HeaderName::from_static("keep-alive"), header::TE];
    // Almost every response has none: one pass over its few names, not six lookups.
    let connection_specific =
        |name: &HeaderName| name == header::CONNECTION || name == "proxy-connection" || HOP_BY_HOP.contains(name);
    if !headers.keys().any(connection_specific) {
        return;
    }
    if let Some(connection) = headers.remove(header::CONNECTION) {
        let named: Vec<String> = connection
            .to_str()
            .map(|names| names.split(',').map(|name| name.trim().to_ascii_lowercase()).collect())
            .unwrap_or_default();
        for name in named {
            headers.remove(name.as_str());
        }
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove("proxy-connection");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_headers_never_reach_http2() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "close, x-hop".parse().expect("value"));
        headers.insert("x-hop", "1".parse().expect("value"));
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().expect("value"));
        headers.insert("keep-alive", "timeout=5".parse().expect("value"));
        headers.insert(header::CONTENT_TYPE, "application/grpc".parse().expect("value"));
        strip_connection_headers(&mut headers);
        let left: Vec<_> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["content-type"]);
    }
}
