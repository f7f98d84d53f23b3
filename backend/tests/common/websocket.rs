//! A native grpc-ws client (grpc-ws/PROTOCOL.md), frame by frame, in either revision.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use grpc_ws::{Frame, Revision};
use http::HeaderMap;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One call over its own WebSocket.
pub struct WsCall {
    pub socket: Socket,
    /// The revision the server answered in.
    pub revision: Revision,
    /// Frames of a v2 message not read yet.
    pending: VecDeque<Frame>,
    /// How many WebSocket messages have carried frames so far.
    pub messages_read: usize,
}

/// What a call answered: its response headers, messages and trailers; and how the socket closed.
#[derive(Debug)]
pub struct Answer {
    pub headers: Option<HeaderMap>,
    pub messages: Vec<Bytes>,
    pub trailers: HeaderMap,
    pub close_code: Option<u16>,
}

impl Answer {
    pub fn status(&self) -> Option<&str> {
        self.trailers.get("grpc-status").and_then(|value| value.to_str().ok())
    }

    pub fn message(&self) -> String {
        let raw = self.trailers.get("grpc-message").and_then(|value| value.to_str().ok()).unwrap_or_default();
        super::grpc_web::percent_decode(raw)
    }

    pub fn decode<M: prost::Message + Default>(&self) -> Vec<M> {
        self.messages.iter().map(|bytes| M::decode(bytes.clone()).expect("decode")).collect()
    }
}

/// Opens a WebSocket to `path` offering grpc-ws.v1 alone, with `extra` request headers (such as Origin).
pub async fn connect(addr: std::net::SocketAddr, path: &str, extra: &[(&str, &str)]) -> Result<Socket, String> {
    connect_offering(addr, path, &[Revision::V1], extra).await.map(|(socket, _)| socket)
}

/// Opens a WebSocket to `path` offering `revisions` (in that order); the socket and the revision
/// the server chose.
pub async fn connect_offering(
    addr: std::net::SocketAddr,
    path: &str,
    revisions: &[Revision],
    extra: &[(&str, &str)],
) -> Result<(Socket, Revision), String> {
    let mut request = format!("ws://{addr}{path}").into_client_request().expect("request");
    let offer = revisions.iter().map(|revision| revision.subprotocol()).collect::<Vec<_>>().join(", ");
    request.headers_mut().insert("sec-websocket-protocol", offer.parse().expect("header"));
    for (name, value) in extra {
        request
            .headers_mut()
            .insert(http::HeaderName::from_bytes(name.as_bytes()).expect("name"), value.parse().expect("header"));
    }
    let (socket, response) = tokio_tungstenite::connect_async(request).await.map_err(|error| error.to_string())?;
    let answered = response.headers()["sec-websocket-protocol"].to_str().expect("a subprotocol");
    let revision = Revision::of_subprotocol(answered).expect("a grpc-ws revision");
    assert!(revisions.contains(&revision), "the server chose {answered}, not offered");
    Ok((socket, revision))
}

impl WsCall {
    /// A call on a socket already open in `revision`, nothing sent yet.
    pub fn on(socket: Socket, revision: Revision) -> Self {
        Self { socket, revision, pending: VecDeque::new(), messages_read: 0 }
    }

    /// Opens the call at `path` in grpc-ws.v1 and sends its metadata.
    pub async fn open(addr: std::net::SocketAddr, path: &str, metadata: &[(&str, &str)]) -> Self {
        Self::open_offering(addr, path, &[Revision::V1], metadata).await
    }

    /// Opens the call at `path` offering `revisions`, and sends its metadata.
    pub async fn open_offering(
        addr: std::net::SocketAddr,
        path: &str,
        revisions: &[Revision],
        metadata: &[(&str, &str)],
    ) -> Self {
        let (socket, revision) = connect_offering(addr, path, revisions, &[]).await.expect("the upgrade is accepted");
        let mut call = Self::on(socket, revision);
        let mut headers = HeaderMap::new();
        for (name, value) in metadata {
            headers
                .insert(http::HeaderName::from_bytes(name.as_bytes()).expect("name"), value.parse().expect("metadata"));
        }
        call.send_frame(Frame::Headers(headers)).await;
        call
    }

    pub async fn send_frame(&mut self, frame: Frame) {
        self.send_raw(frame.encode()).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        self.socket.send(Message::Binary(bytes.into())).await.expect("send");
    }

    pub async fn send(&mut self, message: &impl prost::Message) {
        self.send_frame(Frame::Message(message.encode_to_vec().into())).await;
    }

    pub async fn half_close(&mut self) {
        self.send_frame(Frame::EndOfStream).await;
    }

    /// The next frame, or `None` once the socket closes (with its close code). Each WebSocket
    /// message must be well formed in the call's revision: exactly one frame in v1.
    pub async fn next(&mut self) -> Result<Frame, Option<u16>> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Ok(frame);
            }
            match self.socket.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    self.messages_read += 1;
                    for raw in grpc_ws::frames_of(self.revision, bytes) {
                        let frame = Frame::decode(&raw.expect("whole frames")).expect("a well-formed frame");
                        self.pending.push_back(frame);
                    }
                }
                Some(Ok(Message::Close(frame))) => return Err(frame.map(|frame: CloseFrame| frame.code.into())),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return Err(None),
            }
        }
    }

    /// Reads the call to its end.
    pub async fn answer(&mut self) -> Answer {
        let mut answer = Answer { headers: None, messages: Vec::new(), trailers: HeaderMap::new(), close_code: None };
        loop {
            match self.next().await {
                Ok(Frame::Headers(headers)) if answer.headers.is_none() && !headers.contains_key("grpc-status") => {
                    answer.headers = Some(headers)
                }
                Ok(Frame::Headers(trailers)) => answer.trailers = trailers,
                Ok(Frame::Message(message)) => answer.messages.push(message),
                Ok(Frame::WindowUpdate(_)) => {} // more request credit: nothing more to send here
                Ok(Frame::EndOfStream) => panic!("a server sends no end-of-stream frame"),
                Err(code) => {
                    answer.close_code = code;
                    return answer;
                }
            }
        }
    }
}
