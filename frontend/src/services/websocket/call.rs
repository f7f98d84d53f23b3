//! One call over a WebSocket, from open to close, in its own `spawn_local` task: the headers frame,
//! each request message as tonic's body yields it and the server's grants allow, the end of stream;
//! the server's frames passed on to the response body, its window updates to the sender; the window
//! updates the body asks for. The task ends, and the socket closes with it, when the call is over or
//! when nobody reads the response any more.

use std::pin::{Pin, pin};

use bytes::Bytes;
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures::{FutureExt, StreamExt, select_biased};
use gloo_timers::future::TimeoutFuture;
use grpc_ws::{Credit, Frame, Reply, Revision};
use http_body::Body as _;
use tonic::Status;

use super::body::FromServer;
use super::frames::{self, Received, Splitter};
use super::socket::{Socket, SocketEvent};

/// How long a WebSocket may take to open before the call counts as unanswered (and the page falls
/// back): a proxy that neither upgrades nor refuses must not hold a session up for long.
const OPEN_TIMEOUT_MS: u32 = 5_000;

/// Runs the call; a failure reaches tonic through the response (or its body).
pub(super) async fn run(
    url: String,
    offered: &'static [Revision],
    request: http::Request<tonic::body::Body>,
    to_body: UnboundedSender<FromServer>,
    mut grants: UnboundedReceiver<u32>,
) {
    if let Err(status) = call(&url, offered, request, &to_body, &mut grants).await {
        let _ = to_body.unbounded_send(Err(status));
    }
}

async fn call(
    url: &str,
    offered: &[Revision],
    request: http::Request<tonic::body::Body>,
    to_body: &UnboundedSender<FromServer>,
    grants: &mut UnboundedReceiver<u32>,
) -> Result<(), Status> {
    let protocols: Vec<&str> = offered.iter().map(|revision| revision.subprotocol()).collect();
    let (socket, mut events) = Socket::open(url, &protocols)
        .map_err(|error| frames::unanswered(format!("cannot open a WebSocket to {url}: {error}")))?;
    if let Some(ended) = opened(&mut events, grants).await {
        return ended;
    }
    // The browser opens a socket only in a subprotocol it offered.
    let revision = Revision::of_subprotocol(&socket.protocol())
        .ok_or_else(|| Status::internal(format!("grpc-ws: the server chose {:?}, not offered", socket.protocol())))?;
    let mut reply = Reply::default();
    let (parts, body) = request.into_parts();
    socket.send_now(&Frame::Headers(frames::metadata(&parts.headers)).encode());
    // The server's grants of request messages, from the socket's events to the sender: the events are
    // read on while the sender waits for credit, or the grant it waits for would never be seen.
    let (to_sender, server_grants) = mpsc::unbounded();
    let mut sending = pin!(send_requests(&socket, body, server_grants).fuse());
    loop {
        // Biased: a dropped response is noticed before an ended request stream, so that dropping a
        // session cancels its call rather than half-closing it.
        select_biased! {
            grant = grants.next() => match grant {
                Some(more) => socket.send_now(&Frame::WindowUpdate(more).encode()),
                None => return Ok(()),
            },
            event = events.next() => match event {
                Some(SocketEvent::Binary(message)) => {
                    for raw in grpc_ws::frames_of(revision, Bytes::from(message)) {
                        let raw = raw.map_err(|error| Status::internal(format!("grpc-ws: {error}")))?;
                        match frames::receive(&mut reply, raw)? {
                            Some(Received::Body(incoming)) => {
                                let _ = to_body.unbounded_send(Ok(incoming));
                            }
                            // Once the request stream is sent, nobody listens: the grant is not needed.
                            Some(Received::Grant(more)) => {
                                let _ = to_sender.unbounded_send(more);
                            }
                            None => {}
                        }
                        if reply == Reply::Done {
                            return Ok(());
                        }
                    }
                }
                Some(SocketEvent::Text) => return Err(Status::internal("grpc-ws: the server sent a text message")),
                Some(SocketEvent::Closed { code, reason }) => {
                    return frames::closed(reply, code, &reason).map_or(Ok(()), Err);
                }
                Some(SocketEvent::Open) => {}
                None => return frames::closed(reply, 1006, "").map_or(Ok(()), Err),
            },
            sent = sending => sent?,
        }
    }
}

/// Waits for the socket to open: `None` once it has, else how the call ends.
async fn opened(
    events: &mut UnboundedReceiver<SocketEvent>,
    grants: &mut UnboundedReceiver<u32>,
) -> Option<Result<(), Status>> {
    let mut timeout = pin!(TimeoutFuture::new(OPEN_TIMEOUT_MS).fuse());
    loop {
        select_biased! {
            // Nobody waits for the answer any more: the socket closes as the call returns.
            grant = grants.next() => if grant.is_none() { return Some(Ok(())) },
            event = events.next() => match event {
                Some(SocketEvent::Open) => return None,
                Some(SocketEvent::Closed { code, reason }) => return Some(Err(frames::closed_unanswered(code, &reason))),
                Some(SocketEvent::Binary(_) | SocketEvent::Text) => {}
                None => return Some(Err(frames::closed_unanswered(1006, ""))),
            },
            () = timeout => {
                let seconds = OPEN_TIMEOUT_MS / 1000;
                return Some(Err(frames::unanswered(format!("the WebSocket did not open within {seconds} s"))));
            }
        }
    }
}

/// Sends each request message as tonic's body yields it, once the server has granted it (PROTOCOL.md,
/// flow control) and the browser has room for it, then the end of stream. While it waits, tonic's
/// body is not read: later requests wait wherever their writer put them (the page: its id queue).
async fn send_requests(
    socket: &Socket,
    mut body: tonic::body::Body,
    mut grants: UnboundedReceiver<u32>,
) -> Result<(), Status> {
    let mut splitter = Splitter::default();
    let mut credit = Credit::default();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(chunk) = frame?.into_data() else { continue };
        splitter.push(&chunk);
        while let Some(message) = splitter.next_frame() {
            let message = message?;
            if !frames::acquire(&mut credit, &mut grants).await {
                // No grant can come any more: the call is ending, and the socket's events say how.
                return std::future::pending().await;
            }
            socket.send(&message).await;
        }
    }
    if splitter.has_partial() {
        return Err(Status::internal("the request ended inside a message"));
    }
    socket.send(&Frame::EndOfStream.encode()).await;
    Ok(())
}
