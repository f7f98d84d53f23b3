//! A gRPC client as grpc-go, grpcio and grpc-js write to the wire: each
//! request message in an HTTP/2 DATA frame of its own, flushed as it is sent.
//!
//! tonic's client packs whatever messages are ready into one frame, which is
//! kinder to a server than the clients people actually use; this one, on h2
//! directly, sends the frames those clients send.

use std::future::poll_fn;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use http::{HeaderValue, Method, Request, Uri, header};
use prost::Message;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The windows this client offers the server: like grpc-go's after its
/// bandwidth estimate has grown them.
const STREAM_WINDOW: u32 = 1024 * 1024;
const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// One HTTP/2 connection to a gRPC server.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    send: SendRequest<Bytes>,
    authority: String,
    /// How the connection ended, once it has: `Ok` for a clean close.
    ended: watch::Receiver<Option<Result<(), String>>>,
}

impl Connection {
    /// Connects to `server` (`http://host:port`) with prior-knowledge HTTP/2.
    pub(crate) async fn open(server: &str) -> Result<Self, String> {
        let authority = server.trim_start_matches("http://").trim_end_matches('/').to_string();
        let tcp = TcpStream::connect(&authority).await.map_err(|error| format!("cannot reach {server}: {error}"))?;
        tcp.set_nodelay(true).map_err(|error| error.to_string())?;
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_concurrent_streams(1024)
            .handshake::<_, Bytes>(tcp)
            .await
            .map_err(|error| format!("HTTP/2 handshake with {server}: {error}"))?;
        let (ended_tx, ended) = watch::channel(None);
        tokio::spawn(async move {
            let result = connection.await.map_err(|error| error.to_string());
            let _ = ended_tx.send(Some(result));
        });
        Ok(Self { send, authority, ended })
    }

    /// Why the connection closed, if it has closed with an error.
    pub(crate) fn failure(&self) -> Option<String> {
        self.ended.borrow().clone().and_then(Result::err)
    }

    /// The address of `path` (`/package.Service/method`) on this connection's server.
    pub(crate) fn target(&self, path: &str) -> Result<Uri, String> {
        format!("http://{}{path}", self.authority).parse().map_err(|error| format!("{path}: {error}"))
    }

    /// Opens a call to `path` (`/package.Service/method`).
    pub(crate) async fn call(&self, path: &str) -> Result<Call, String> {
        self.call_to(self.target(path)?).await
    }

    /// Opens a call to `target` (see [`Connection::target`]).
    pub(crate) async fn call_to(&self, target: Uri) -> Result<Call, String> {
        // The header names and values are the ones every call sends, made once.
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target;
        let headers = request.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        let mut send = self.send.clone().ready().await.map_err(|error| self.explain(error))?;
        let (response, requests) = send.send_request(request, false).map_err(|error| self.explain(error))?;
        Ok(Call { requests: Requests(requests), responses: Answer(response) })
    }

    /// A unary call to `target`: `frame` (a request message, [`encode`]d) in
    /// one DATA frame that ends the stream, and the one response message.
    pub(crate) async fn unary<R: Message + Default>(&self, target: Uri, frame: Bytes) -> Result<R, String> {
        let mut call = self.call_to(target).await?;
        call.requests.0.reserve_capacity(frame.len());
        while call.requests.0.capacity() < frame.len() {
            match poll_fn(|cx| call.requests.0.poll_capacity(cx)).await {
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(format!("sending: {error}")),
                None => return Err("sending: the stream closed".into()),
            }
        }
        call.requests.0.send_data(frame, true).map_err(|error| format!("sending: {error}"))?;
        let (_, answer) = call.split();
        let mut responses = answer.responses().await?;
        let response = responses.next::<R>().await?.ok_or("the call ended without a response")?;
        match responses.next::<R>().await? {
            None => Ok(response),
            Some(_) => Err("a unary call answered with two messages".into()),
        }
    }

    fn explain(&self, error: h2::Error) -> String {
        match self.failure() {
            Some(failure) => format!("{error} (the connection closed: {failure})"),
            None => error.to_string(),
        }
    }
}

/// An open call: its request stream and the server's answer to come.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) requests: Requests,
    responses: Answer,
}

impl Call {
    /// Splits the call so that responses can be read while requests are sent.
    pub(crate) fn split(self) -> (Requests, Answer) {
        (self.requests, self.responses)
    }
}

/// The server's answer to a call, once its headers arrive.
#[derive(Debug)]
pub(crate) struct Answer(h2::client::ResponseFuture);

impl Answer {
    /// Waits for the response headers; then the messages can be read.
    pub(crate) async fn responses(self) -> Result<Responses, String> {
        let response = self.0.await.map_err(|error| error.to_string())?;
        Ok(Responses { body: response.into_body(), buffer: BytesMut::new() })
    }
}

/// The request half of a [`Call`].
#[derive(Debug)]
pub(crate) struct Requests(SendStream<Bytes>);

impl Requests {
    /// Sends `message` as one DATA frame, waiting for the window to take it whole.
    pub(crate) async fn send<M: Message>(&mut self, message: &M) -> Result<(), String> {
        let frame = encode(message);
        self.0.reserve_capacity(frame.len());
        while self.0.capacity() < frame.len() {
            match poll_fn(|cx| self.0.poll_capacity(cx)).await {
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(format!("sending: {error}")),
                None => return Err("sending: the stream closed".into()),
            }
        }
        self.0.send_data(frame, false).map_err(|error| format!("sending: {error}"))
    }

    /// Sends `message` only if the window takes it now; `Ok(false)` if the
    /// server has not read enough for it yet.
    pub(crate) fn try_send<M: Message>(&mut self, message: &M) -> Result<bool, String> {
        let frame = encode(message);
        self.0.reserve_capacity(frame.len());
        if self.0.capacity() < frame.len() {
            // Let h2 assign what window there is, without waiting for more.
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if let std::task::Poll::Ready(Some(Err(error))) = self.0.poll_capacity(&mut cx) {
                return Err(format!("sending: {error}"));
            }
            if self.0.capacity() < frame.len() {
                return Ok(false);
            }
        }
        self.0.send_data(frame, false).map(|()| true).map_err(|error| format!("sending: {error}"))
    }

    /// Half-closes the request stream.
    pub(crate) fn finish(mut self) -> Result<(), String> {
        self.0.send_data(Bytes::new(), true).map_err(|error| format!("half-closing: {error}"))
    }
}

/// The response stream of a call.
#[derive(Debug)]
pub(crate) struct Responses {
    body: RecvStream,
    buffer: BytesMut,
}

impl Responses {
    /// The next response message; `None` once the call has ended with OK.
    pub(crate) async fn next<M: Message + Default>(&mut self) -> Result<Option<M>, String> {
        loop {
            if let Some(message) = self.decoded()? {
                return Ok(Some(message));
            }
            match poll_fn(|cx| self.body.poll_data(cx)).await {
                Some(Ok(data)) => {
                    let _ = self.body.flow_control().release_capacity(data.len());
                    self.buffer.extend_from_slice(&data);
                }
                Some(Err(error)) => return Err(format!("receiving: {error}")),
                None => {
                    if !self.buffer.is_empty() {
                        return Err(format!("the response ended inside a message ({} bytes left)", self.buffer.len()));
                    }
                    let trailers = poll_fn(|cx| self.body.poll_trailers(cx))
                        .await
                        .map_err(|error| format!("receiving trailers: {error}"))?
                        .unwrap_or_default();
                    let status = trailers.get("grpc-status").and_then(|value| value.to_str().ok()).unwrap_or("");
                    if status == "0" {
                        return Ok(None);
                    }
                    let message = trailers.get("grpc-message").and_then(|value| value.to_str().ok()).unwrap_or("");
                    return Err(format!("the call ended with grpc-status {status:?}: {message}"));
                }
            }
        }
    }

    fn decoded<M: Message + Default>(&mut self) -> Result<Option<M>, String> {
        if self.buffer.len() < 5 {
            return Ok(None);
        }
        let length = u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]]) as usize;
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        if self.buffer[0] != 0 {
            return Err("a compressed response, which this client never asked for".into());
        }
        self.buffer.advance(5);
        let message = self.buffer.split_to(length);
        M::decode(message.freeze()).map(Some).map_err(|error| format!("a response that does not decode: {error}"))
    }
}

/// `message` as a gRPC length-prefixed message, uncompressed.
pub(crate) fn encode<M: Message>(message: &M) -> Bytes {
    let length = message.encoded_len();
    let mut frame = BytesMut::with_capacity(5 + length);
    frame.put_u8(0);
    frame.put_u32(u32::try_from(length).unwrap_or(u32::MAX));
    message.encode(&mut frame).unwrap_or_default();
    frame.freeze()
}
