//! gRPC over WebSocket (`grpc-ws.v1`, specified in grpc-ws/PROTOCOL.md): one
//! call per WebSocket, for browsers, which cannot stream a request any other
//! way. Each call is turned into the native gRPC request it stands for and
//! run through the same router, so the same per-call layer (write access,
//! deadline, log line, metrics) and the same services handle it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use grpc_ws::{Frame, FrameError, INITIAL_WINDOW, SUBPROTOCOL};
use http::header::{CONTENT_TYPE, SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;
use tonic::{Code, Status};
use tower::ServiceExt;

use crate::calls::Protocol;
use crate::origin::OriginPolicy;

/// Request frames read ahead of the call before the socket is left unread.
const READ_AHEAD: usize = 16;
/// How long a client may take to send its call's metadata.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(10);
/// Close codes (RFC 6455).
const NORMAL: u16 = 1000;
const PROTOCOL_ERROR: u16 = 1002;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the WebSocket endpoint needs: where to run calls, who may open them,
/// and the calls in progress (so shutdown can wait for them).
#[derive(Debug, Clone)]
pub struct Endpoint {
    calls: Router,
    origins: OriginPolicy,
    max_message_bytes: usize,
    open: TaskTracker,
}

impl Endpoint {
    pub fn new(calls: Router, origins: OriginPolicy, max_message_bytes: usize, open: TaskTracker) -> Self {
        Self { calls, origins, max_message_bytes, open }
    }
}

/// Middleware: a WebSocket upgrade offering `grpc-ws.v1` becomes a call;
/// every other request goes on.
pub async fn upgrade(State(endpoint): State<Endpoint>, request: Request, next: Next) -> Response {
    let offers_grpc_ws =
        request.headers().get(UPGRADE).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
            && request.headers().get_all(SEC_WEBSOCKET_PROTOCOL).iter().any(|value| {
                value.to_str().is_ok_and(|offered| offered.split(',').any(|protocol| protocol.trim() == SUBPROTOCOL))
            });
    if !offers_grpc_ws {
        return next.run(request).await;
    }
    let (mut parts, _) = request.into_parts();
    if let Some(origin) = parts.headers.get(http::header::ORIGIN)
        && !endpoint.origins.allows(origin, &parts)
    {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let message =
            format!("origin {origin} may not call this server; start it with --cors-origin {origin} to allow it");
        return (http::StatusCode::FORBIDDEN, message).into_response();
    }
    let socket = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(socket) => socket,
        Err(rejection) => return rejection.into_response(),
    };
    let path = parts.uri.path().to_string();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied();
    let open = endpoint.open.token();
    // Room for the largest message the calls accept, so that the call's own
    // check, with its clear status, is what refuses a bigger one.
    let limit = endpoint.max_message_bytes.saturating_mul(2).saturating_add(1024);
    socket.protocols([SUBPROTOCOL]).max_message_size(limit).max_frame_size(limit).on_upgrade(move |socket| async move {
        serve_call(socket, endpoint.calls, path, peer).await;
        drop(open);
    })
}

/// Why a call over a WebSocket ended early.
#[derive(Debug)]
enum Ending {
    /// The client closed the WebSocket (or it broke) before the trailers.
    Cancelled,
    /// The client broke the protocol: tell it why, then close.
    ProtocolError(Status),
}

async fn serve_call(socket: WebSocket, calls: Router, path: String, peer: Option<ConnectInfo<SocketAddr>>) {
    let (mut sink, mut incoming) = socket.split();
    let metadata = match tokio::time::timeout(HEADERS_TIMEOUT, next_frame(&mut incoming)).await {
        Ok(Ok(Some(Frame::Headers(metadata)))) => metadata,
        Ok(Ok(None)) => return,
        Ok(Ok(Some(_))) => {
            let status = Status::internal("grpc-ws: the first frame of a call must be its headers");
            return refuse(&mut sink, status).await;
        }
        Ok(Err(status)) => return refuse(&mut sink, status).await,
        Err(_) => return refuse(&mut sink, Status::deadline_exceeded("grpc-ws: no call headers in time")).await,
    };

    let (body_tx, body_rx) = mpsc::channel::<Result<http_body::Frame<Bytes>, BoxError>>(READ_AHEAD);
    let body = http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(body_rx));
    let mut request = http::Request::post(path).body(axum::body::Body::new(body)).expect("a valid path");
    *request.headers_mut() = call_headers(metadata);
    // As a native call arrives; the gRPC-Web layer refuses plain gRPC over HTTP/1.1.
    *request.version_mut() = http::Version::HTTP_2;
    request.extensions_mut().insert(Protocol::WebSocket);
    if let Some(peer) = peer {
        request.extensions_mut().insert(peer);
    }
    let window = Arc::new(Semaphore::new(INITIAL_WINDOW as usize));

    let read = read_requests(incoming, body_tx, Arc::clone(&window));
    let ending = {
        let respond = respond(calls.oneshot(request), &mut sink, &window);
        tokio::select! {
            ending = read => Some(ending),
            () = respond => None,
        }
    };
    // Ended early, the call was dropped above, mid-flight: it is cancelled.
    match ending {
        None => {
            let _ = sink.send(Message::Close(Some(CloseFrame { code: NORMAL, reason: "".into() }))).await;
        }
        Some(Ending::ProtocolError(status)) => refuse(&mut sink, status).await,
        Some(Ending::Cancelled) => {}
    }
}

/// Feeds the client's frames to the call until it half-closes; then keeps
/// reading window updates until the socket closes.
async fn read_requests(
    mut incoming: futures::stream::SplitStream<WebSocket>,
    body: mpsc::Sender<Result<http_body::Frame<Bytes>, BoxError>>,
    window: Arc<Semaphore>,
) -> Ending {
    let mut body = Some(body);
    let ending = read_until_ended(&mut incoming, &mut body, &window).await;
    if let Some(body) = body {
        // Before the half-close, an error in the request stream makes sure a
        // handler cannot take the cancellation for one.
        let _ = body.try_send(Err("the client closed the WebSocket".into()));
    }
    ending
}

async fn read_until_ended(
    incoming: &mut futures::stream::SplitStream<WebSocket>,
    body: &mut Option<mpsc::Sender<Result<http_body::Frame<Bytes>, BoxError>>>,
    window: &Semaphore,
) -> Ending {
    loop {
        let frame = match next_frame(incoming).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ending::Cancelled,
            Err(status) => return Ending::ProtocolError(status),
        };
        match frame {
            Frame::Message(message) => {
                let Some(sender) = body.as_ref() else {
                    return Ending::ProtocolError(Status::internal("grpc-ws: a message after end of stream"));
                };
                if sender.send(Ok(http_body::Frame::data(grpc_ws::grpc_frame(&message)))).await.is_err() {
                    // The call no longer reads its requests; the client may still read responses.
                    *body = None;
                }
            }
            Frame::EndOfStream if body.is_some() => *body = None,
            Frame::EndOfStream => return Ending::ProtocolError(Status::internal("grpc-ws: end of stream twice")),
            Frame::WindowUpdate(more) => window.add_permits(more.min(Semaphore::MAX_PERMITS as u32) as usize),
            Frame::Headers(_) => {
                return Ending::ProtocolError(Status::internal("grpc-ws: headers may only open a call"));
            }
        }
    }
}

/// The next frame, `None` when the socket closes or breaks.
async fn next_frame(incoming: &mut futures::stream::SplitStream<WebSocket>) -> Result<Option<Frame>, Status> {
    loop {
        return match incoming.next().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Ok(None),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Text(_))) => Err(Status::internal("grpc-ws: frames are binary messages, not text")),
            Some(Ok(Message::Binary(bytes))) => Frame::decode(&bytes)
                .map(Some)
                .map_err(|error: FrameError| Status::internal(format!("grpc-ws: {error}"))),
        };
    }
}

/// Sends the call's response: headers, each message as the window allows, trailers.
async fn respond<F, S>(response: F, sink: &mut S, window: &Semaphore)
where
    F: Future<Output = Result<Response, std::convert::Infallible>>,
    S: futures::Sink<Message> + Unpin,
{
    let Ok(response) = response.await;
    let (parts, mut body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        // Trailers-only: the call failed before it answered.
        let _ = sink.send(headers_message(&trailers_of(&status))).await;
        return;
    }
    let mut headers = parts.headers;
    headers.remove(CONTENT_TYPE);
    if sink.send(headers_message(&headers)).await.is_err() {
        return;
    }
    let mut buffer = BytesMut::new();
    let trailers = loop {
        match body.frame().await {
            None => break trailers_of(&Status::internal("the call ended without a status")),
            Some(Err(error)) => break trailers_of(&Status::internal(format!("the call failed: {error}"))),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    buffer.extend_from_slice(&data);
                    while let Some(message) = grpc_ws::take_grpc_frame(&mut buffer) {
                        // A message frame is a gRPC length-prefixed message, byte for byte.
                        let Ok(permit) = window.acquire().await else { return };
                        permit.forget();
                        if sink.send(Message::Binary(message)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        break trailers;
                    }
                }
            },
        }
    };
    let _ = sink.send(headers_message(&trailers)).await;
}

/// Tells the client why its call is refused, and closes.
async fn refuse<S: futures::Sink<Message> + Unpin>(sink: &mut S, status: Status) {
    let code = if status.code() == Code::DeadlineExceeded { NORMAL } else { PROTOCOL_ERROR };
    let _ = sink.send(headers_message(&trailers_of(&status))).await;
    let reason = status.message().chars().take(120).collect::<String>();
    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

/// The native request headers of a call with this metadata.
fn call_headers(metadata: HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &metadata {
        let transport = matches!(
            name.as_str(),
            "content-type" | "te" | "host" | "connection" | "upgrade" | "content-length" | "transfer-encoding"
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
