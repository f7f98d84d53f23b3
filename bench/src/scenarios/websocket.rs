//! `websocket`: `processOrders` as a browser calls it, over gRPC over WebSocket
//! (`grpc-ws.v2`, grpc-ws/PROTOCOL.md; `websocket-v1` in `grpc-ws.v1`): C
//! concurrent calls, one WebSocket each, each sending N ids as fast as the
//! server's grants and its socket allow, while reading shipments and granting
//! the server more as grpc-ws's `Window` counts them, sized to `WINDOW_BYTES`
//! (1 MiB) of shipments, as the server sizes the window it gives the ids. In
//! v2 a call sends the ids its credit allows at once in one WebSocket message
//! (up to `MAX_BATCH_BYTES`), never waiting to fill one. The figures are those
//! of `bidi`, for comparison with it.
//!
//! Flow control runs both ways, as PROTOCOL.md has it: a call may send
//! `INITIAL_WINDOW` ids, then as many more as the server grants in its window
//! updates. Nothing else bounds the ids in flight: what the benchmark measures
//! is the protocol's own flow control.
//! A call that hears nothing for a while with shipments owed is reported as
//! stalled, with how far it got.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt, stream};
use grpc_ws::{Batch, Frame, INITIAL_WINDOW, Reply, Revision, ServerFrame, WINDOW_BYTES, Window};
use ordermgt_proto::CombinedShipment;
use prost::Message as _;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::bidi::{self, Tally};
use crate::report::Row;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PATH: &str = "/ecommerce.OrderManagement/processOrders";
/// A call that receives nothing for this long, with shipments still owed, has stalled.
const STALL: Duration = Duration::from_secs(15);
/// WebSockets opened at once before a case starts.
const OPENING_WAVE: usize = 64;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) calls: usize,
    pub(crate) ids_per_call: usize,
    pub(crate) batch_size: usize,
    pub(crate) revision: Revision,
}

pub(crate) async fn run(server: &str, ids: &[String], case: Case) -> Result<Row, String> {
    super::bidi::enough_known("websocket", ids, case.batch_size)?;
    let (url, origin) = endpoint(server)?;
    // Each id once as a message frame: the calls then send clones of these bytes.
    let frames: Arc<[Bytes]> =
        ids.iter().map(|id| Bytes::from(Frame::Message(id.encode_to_vec().into()).encode())).collect();

    // The WebSockets open before the clock starts, as bidi's connections do.
    let mut sockets = Vec::with_capacity(case.calls);
    for wave in (0..case.calls).collect::<Vec<_>>().chunks(OPENING_WAVE) {
        let opening = wave.iter().map(|_| open(&url, &origin, case.revision));
        for socket in futures::future::join_all(opening).await {
            sockets.push(socket?);
        }
    }

    let started = Instant::now();
    let mut calls = JoinSet::new(); // dropped on an error: the other calls are cancelled
    for (index, socket) in sockets.into_iter().enumerate() {
        calls.spawn(one_call(socket, Arc::clone(&frames), index, case));
    }
    let mut total = Tally::default();
    while let Some(tally) = calls.join_next().await {
        total.merge(tally.map_err(|error| format!("websocket call task: {error}"))??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sent = case.calls * case.ids_per_call;
    let described = format!(
        "calls={} (one WebSocket each, {}) ids/call={} batch={} window={} KiB of shipments, request \
         credit={INITIAL_WINDOW}+the server's grants",
        case.calls,
        case.revision.subprotocol(),
        case.ids_per_call,
        case.batch_size,
        WINDOW_BYTES / 1024
    );
    let scenario = match case.revision {
        Revision::V2 => "websocket",
        Revision::V1 => "websocket-v1",
    };
    Ok(bidi::row(scenario, described, sent, total, elapsed))
}

/// `idle-websockets`: opens `calls` WebSocket processOrders calls, sends each
/// its metadata (the call is then open on the server) and nothing more, and
/// reads what they cost the server in resident memory.
pub(crate) async fn idle(server: &str, calls: usize, server_pid: Option<u32>) -> Result<Row, String> {
    let (url, origin) = endpoint(server)?;
    let open = async {
        let mut held = Vec::with_capacity(calls);
        for wave in (0..calls).collect::<Vec<_>>().chunks(OPENING_WAVE) {
            let opening = wave.iter().map(|_| async {
                let mut socket = open(&url, &origin, Revision::V2).await?;
                let headers = Message::Binary(Frame::Headers(http::HeaderMap::new()).encode().into());
                socket.send(headers).await.map_err(|error| format!("metadata: {error}"))?;
                Ok::<_, String>(socket)
            });
            for socket in futures::future::join_all(opening).await {
                held.push(socket?);
            }
        }
        Ok(held)
    };
    let described = format!("calls={calls} (one WebSocket each)");
    let names = ["calls held", "server RSS with calls", "per call"];
    super::idle::resident_cost("idle-websockets", described, names, server_pid, open).await
}

/// The WebSocket URL of processOrders on `server`, and the Origin a page served by it sends.
fn endpoint(server: &str) -> Result<(String, String), String> {
    let origin = server.trim_end_matches('/');
    match origin.split_once("://") {
        Some(("http", authority)) => Ok((format!("ws://{authority}{PATH}"), origin.to_string())),
        _ => Err(format!("websocket drives an http:// server (no TLS in this client), not {server}")),
    }
}

/// Opens a WebSocket to processOrders as a browser does, with the page's Origin, offering `revision`.
async fn open(url: &str, origin: &str, revision: Revision) -> Result<Socket, String> {
    let subprotocol = revision.subprotocol();
    let mut request = url.into_client_request().map_err(|error| format!("{url}: {error}"))?;
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", http::HeaderValue::from_static(subprotocol));
    headers.insert("origin", origin.parse().map_err(|_| format!("{origin:?} is not a header value"))?);
    let (socket, response) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(|error| format!("cannot open a WebSocket to {url}: {error}"))?;
    let accepted = response.headers().get("sec-websocket-protocol").and_then(|value| value.to_str().ok());
    if accepted != Some(subprotocol) {
        return Err(format!("{url} did not accept the {subprotocol} subprotocol (it answered {accepted:?})"));
    }
    Ok(socket)
}

/// How far one call got, for the message when it stalls.
#[derive(Debug, Default)]
struct Progress {
    /// Ids handed to the socket (queued in its write buffer or written).
    ids_queued: AtomicUsize,
    /// Window updates handed to the socket, in messages.
    granted: AtomicUsize,
    /// Ids the server has granted in its window updates, beyond `INITIAL_WINDOW`.
    credit_granted: AtomicUsize,
}

/// One call: its metadata, then the ids (cycling through the known ones from
/// an offset of its own) as the server grants them, and its half-close, with
/// window updates between them as shipments are read.
async fn one_call(socket: Socket, frames: Arc<[Bytes]>, call: usize, case: Case) -> Result<Tally, String> {
    let (mut sink, mut incoming) = socket.split();
    let progress = Arc::new(Progress::default());
    let (sent_at, mut batch_sent) = mpsc::unbounded_channel::<Instant>();
    let (grants, granted) = mpsc::unbounded_channel::<u32>();

    // The ids the call may still send: taken as one is sent, added to as the server grants more.
    // The writer waits on it while the reader, below, goes on reading the server's frames.
    let credit = Arc::new(Semaphore::new(INITIAL_WINDOW as usize));
    let batch = case.batch_size;
    let queued = Arc::clone(&progress);
    let spent = Arc::clone(&credit);
    let total = case.ids_per_call;
    // v2: as many ids a WebSocket message as fit in MAX_BATCH_BYTES; v1: one.
    let largest = frames.iter().map(Bytes::len).max().unwrap_or(1);
    let per_message = match case.revision {
        Revision::V2 => (grpc_ws::MAX_BATCH_BYTES / largest).max(1),
        Revision::V1 => 1,
    };
    // Each item: the ids from n on that the credit allows now, at least one (waiting for it).
    let requests = stream::unfold(0, move |n| {
        let credit = Arc::clone(&spent);
        async move {
            if n >= total {
                return None;
            }
            // The semaphore is never closed: this waits for credit, then spends it.
            if let Ok(permit) = credit.acquire().await {
                permit.forget();
            }
            let mut count = 1;
            while count < per_message
                && n + count < total
                && credit.try_acquire().is_ok_and(|permit| {
                    permit.forget();
                    true
                })
            {
                count += 1;
            }
            Some((n..n + count, n + count))
        }
    })
    .map(move |ids| {
        for n in ids.clone() {
            if (n + 1) % batch == 0 {
                let _ = sent_at.send(Instant::now());
            }
        }
        queued.ids_queued.fetch_add(ids.len(), Ordering::Relaxed);
        if ids.len() == 1 {
            return Message::Binary(frames[(call + ids.start) % frames.len()].clone());
        }
        let mut message = Batch::default();
        for n in ids {
            message.push(&frames[(call + n) % frames.len()]);
        }
        Message::Binary(message.take().into())
    })
    .chain(stream::iter([Message::Binary(Frame::EndOfStream.encode().into())]));
    let counted = Arc::clone(&progress);
    let window_updates = UnboundedReceiverStream::new(granted).map(move |more| {
        counted.granted.fetch_add(more as usize, Ordering::Relaxed);
        Message::Binary(Frame::WindowUpdate(more).encode().into())
    });
    // Window updates are queued between ids as soon as they are due (behind
    // what is already buffered, which the server reads on to); while the ids
    // wait for credit, the socket is flushed. The whole ends once the ids and
    // the half-close are sent and the reader has stopped granting.
    let mut outgoing = std::pin::pin!(stream::select(window_updates, requests).map(Ok));
    let write = async move {
        sink.send(Message::Binary(Frame::Headers(http::HeaderMap::new()).encode().into())).await?;
        sink.send_all(&mut outgoing).await
    };
    let read = read_shipments(&mut incoming, grants, &mut batch_sent, &credit, &progress, case);
    tokio::pin!(write, read);
    tokio::select! {
        biased;
        // The trailers came: the call is over, whatever is left to write.
        tally = &mut read => tally,
        written = &mut write => {
            let tally = read.await;
            match written {
                Err(error) if tally.is_ok() => Err(format!("writing to the WebSocket: {error}")),
                _ => tally,
            }
        }
    }
}

/// Reads the call's answer to its trailers, counting shipments and granting
/// more as grpc-ws's [`Window`] counts them (a window of [`WINDOW_BYTES`] of
/// shipments, as the server gives a call for its ids), and adding the
/// server's grants to the call's `credit`.
async fn read_shipments(
    incoming: &mut futures::stream::SplitStream<Socket>,
    grants: mpsc::UnboundedSender<u32>,
    batch_sent: &mut mpsc::UnboundedReceiver<Instant>,
    credit: &Semaphore,
    progress: &Progress,
    case: Case,
) -> Result<Tally, String> {
    let mut tally = Tally::default();
    let (mut read_messages, mut window, mut reply) = (0usize, Window::sized(WINDOW_BYTES), Reply::default());
    let revision = case.revision;
    loop {
        let message = match tokio::time::timeout(STALL, incoming.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => bytes,
            Ok(Some(Ok(Message::Close(close)))) => {
                return Err(format!("the server closed the WebSocket without trailers ({close:?})"));
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(error))) => return Err(format!("reading the WebSocket: {error}")),
            Ok(None) => return Err("the WebSocket ended without trailers".to_string()),
            Err(_) => {
                return Err(format!(
                    "stalled: nothing from the server for {}s; {} of {} ids queued to the socket, \
                     the server granting {INITIAL_WINDOW} + {} ids; {read_messages} messages read ({} orders), \
                     window granted {INITIAL_WINDOW} + {} messages",
                    STALL.as_secs(),
                    progress.ids_queued.load(Ordering::Relaxed),
                    case.ids_per_call,
                    progress.credit_granted.load(Ordering::Relaxed),
                    tally.orders(),
                    progress.granted.load(Ordering::Relaxed),
                ));
            }
        };
        for raw in grpc_ws::frames_of(revision, message) {
            let raw = raw.map_err(|error| format!("the server broke grpc-ws: {error}"))?;
            let read = reply.frame(&raw).map_err(|error| format!("the server broke grpc-ws: {error}"))?;
            match read {
                Some(ServerFrame::Message(message)) => {
                    let shipment = CombinedShipment::decode(message).map_err(|error| format!("a shipment: {error}"))?;
                    tally.add(&shipment, case.batch_size, batch_sent);
                    read_messages += 1;
                    if let Some(more) = window.read(1, raw.len()) {
                        let _ = grants.send(more);
                    }
                }
                Some(ServerFrame::Grant(more)) => {
                    // A server granting past the semaphore's bound grants more than a call ever sends.
                    credit.add_permits((more as usize).min(Semaphore::MAX_PERMITS - credit.available_permits()));
                    progress.credit_granted.fetch_add(more as usize, Ordering::Relaxed);
                }
                Some(ServerFrame::Head(headers)) if !headers.contains_key("grpc-status") => {}
                Some(ServerFrame::Head(trailers) | ServerFrame::Trailers(trailers)) => {
                    let value =
                        |name: &str| trailers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
                    return match value("grpc-status") {
                        "0" => Ok(tally),
                        status => Err(format!("the call ended with grpc-status {status}: {}", value("grpc-message"))),
                    };
                }
                None => return Err("a frame after the trailers".to_string()),
            }
        }
    }
}
