//! Broken and hostile requests, over native gRPC and over gRPC-Web: each is
//! answered with a gRPC error status that names the problem, and the server
//! goes on serving everyone else.
//!
//! A client that streams a million ids and never reads what comes back is in
//! `process.rs` (`a_client_that_stops_reading_is_held_back_not_buffered`).

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::grpc_web::{Encoding, frame, percent_decode, raw_request, send};
use common::{TestServer, spawn};
use futures::StreamExt;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ordermgt_proto::Order;
use prost::Message;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tonic::Code;

const ADD_ORDER: &str = "/ecommerce.OrderManagement/addOrder";
const PROCESS_ORDERS: &str = "/ecommerce.OrderManagement/processOrders";

/// The server's default limit on a received message (`--max-message-bytes`).
const SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// How a hostile request reaches the server.
#[derive(Debug, Clone, Copy)]
enum Transport {
    /// `application/grpc` over HTTP/2, frames built by hand.
    Native,
    /// gRPC-Web, as a browser (or anyone with curl) would send it.
    Web { encoding: Encoding, http2: bool },
}

const TRANSPORTS: [Transport; 5] = [
    Transport::Native,
    Transport::Web { encoding: Encoding::Binary, http2: false },
    Transport::Web { encoding: Encoding::Text, http2: false },
    Transport::Web { encoding: Encoding::Binary, http2: true },
    Transport::Web { encoding: Encoding::Text, http2: true },
];

/// The gRPC status a call ended with.
#[derive(Debug)]
struct Answer {
    code: Code,
    message: String,
}

impl Answer {
    fn new(status: Option<String>, message: Option<String>) -> Self {
        let status = status.expect("every answer carries a grpc-status");
        let code = Code::from_i32(status.parse().unwrap_or_else(|_| panic!("grpc-status {status:?} is not a number")));
        Self { code, message: percent_decode(&message.unwrap_or_default()) }
    }
}

type RawBody = BoxBody<Bytes, Infallible>;

/// A native gRPC client written by hand over one HTTP/2 connection, so that
/// its frames can be anything. Dropping it closes the connection without a word.
struct RawGrpc {
    addr: SocketAddr,
    sender: SendRequest<RawBody>,
    /// The connection's socket: hyper drives the connection on a task of its
    /// own that outlives `sender` while streams are open, so closing this is
    /// the one sure way to cut the connection.
    socket: std::net::TcpStream,
    connection: JoinHandle<()>,
}

impl RawGrpc {
    async fn connect(server: &TestServer) -> Self {
        let tcp = TcpStream::connect(server.addr).await.expect("connect");
        // As the server does: each stream's HEADERS and DATA go out at once, not after a delayed ACK.
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        let tcp = tcp.into_std().expect("std socket");
        let socket = tcp.try_clone().expect("a second handle on the socket");
        let tcp = TcpStream::from_std(tcp).expect("tokio socket");
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.expect("handshake");
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        Self { addr: server.addr, sender, socket, connection }
    }

    /// Starts a call; the answer's head arrives once the server has taken the call.
    async fn start(&mut self, path: &str, body: RawBody) -> Response<Incoming> {
        let request = Request::post(format!("http://{}{path}", self.addr))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(body)
            .expect("request");
        self.sender.ready().await.expect("connection ready");
        self.sender.send_request(request).await.expect("answer head")
    }

    /// Sends `framed` as the whole request body and reads the status, from the
    /// trailers or, for a trailers-only answer, from the head.
    async fn call(&mut self, path: &str, framed: &[u8]) -> Answer {
        let response = self.start(path, Full::new(Bytes::copy_from_slice(framed)).boxed()).await;
        let (head, body) = response.into_parts();
        assert_eq!(head.status, StatusCode::OK, "gRPC answers errors with HTTP 200");
        let trailers = body.collect().await.expect("answer body").trailers().cloned().unwrap_or_default();
        let field = |name: &str| header(&trailers, name).or_else(|| header(&head.headers, name));
        Answer::new(field("grpc-status"), field("grpc-message"))
    }
}

impl Drop for RawGrpc {
    fn drop(&mut self) {
        // A FIN and nothing else: no GOAWAY, no RST_STREAM.
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        self.connection.abort();
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string)
}

/// Sends `framed` as the whole body of a call to `path`, each connection new.
async fn answer(server: &TestServer, transport: Transport, path: &str, framed: &[u8]) -> Answer {
    match transport {
        Transport::Native => RawGrpc::connect(server).await.call(path, framed).await,
        Transport::Web { encoding, http2 } => {
            let response = send(raw_request(&format!("{}{path}", server.url()), encoding, framed), http2).await;
            assert_eq!(response.http_status, StatusCode::OK, "{transport:?}: gRPC-Web answers errors with HTTP 200");
            Answer::new(response.grpc_status, response.grpc_message)
        }
    }
}

/// A well-behaved client on a connection of its own is served as usual.
async fn assert_still_serves_others(server: &TestServer) {
    let order = server.client().await.get_order("102".to_string()).await.expect("getOrder 102").into_inner();
    assert_eq!(order.id, "102");
}

/// Nothing was stored under `id`.
async fn assert_nothing_stored_as(server: &TestServer, id: &str) {
    let status = server.client().await.get_order(id.to_string()).await.expect_err("nothing stored");
    assert_eq!(status.code(), Code::NotFound, "{id}");
}

/// Sends `framed` to addOrder over every transport and returns each answer,
/// checking after each that other clients are still served.
async fn answers_to(server: &TestServer, framed: &[u8]) -> Vec<(Transport, Answer)> {
    let mut answers = Vec::new();
    for transport in TRANSPORTS {
        answers.push((transport, answer(server, transport, ADD_ORDER, framed).await));
        assert_still_serves_others(server).await;
    }
    answers
}

#[tokio::test]
async fn malformed_protobuf_is_refused_as_a_decoding_error() {
    let server = spawn().await;
    for (transport, answer) in answers_to(&server, &frame(0, &[0xFF, 0xFF, 0xFF])).await {
        assert_eq!(answer.code, Code::Internal, "{transport:?}: {answer:?}");
        assert!(answer.message.contains("failed to decode Protobuf message"), "{transport:?}: {answer:?}");
    }
}

#[tokio::test]
async fn a_length_prefix_longer_than_the_body_is_refused_as_an_unexpected_end() {
    let server = spawn().await;
    // The prefix promises 100 bytes; 3 follow, then the request ends.
    let mut truncated = frame(0, &[0x0A, 0x01, b'1']);
    truncated[1..5].copy_from_slice(&100u32.to_be_bytes());
    for (transport, answer) in answers_to(&server, &truncated).await {
        assert_eq!(answer.code, Code::Internal, "{transport:?}: {answer:?}");
        assert!(answer.message.contains("Unexpected EOF"), "{transport:?}: {answer:?}");
    }
}

fn oversized_order() -> Vec<u8> {
    let order = Order { id: "huge".into(), description: "x".repeat(5 * 1024 * 1024), ..Order::default() };
    frame(0, &order.encode_to_vec())
}

#[tokio::test]
async fn a_message_above_the_4_mib_limit_is_resource_exhausted_naming_its_size_and_the_limit() {
    let server = spawn().await;
    let size = format!("found {} bytes, the limit is: {SIZE_LIMIT} bytes", oversized_order().len() - 5);
    for (transport, answer) in answers_to(&server, &oversized_order()).await {
        // tonic alone would say OUT_OF_RANGE; the server respells it as gRPC specifies.
        assert_eq!(answer.code, Code::ResourceExhausted, "{transport:?}: {answer:?}");
        assert!(answer.message.contains("too large") && answer.message.contains(&size), "{transport:?}: {answer:?}");
    }
    assert_nothing_stored_as(&server, "huge").await;
}

#[tokio::test]
async fn invalid_utf8_in_a_string_field_is_refused_naming_the_field() {
    let server = spawn().await;
    // Order field 1 (id), length-delimited, 2 bytes that are not UTF-8.
    for (transport, answer) in answers_to(&server, &frame(0, &[0x0A, 0x02, 0xC3, 0x28])).await {
        assert_eq!(answer.code, Code::Internal, "{transport:?}: {answer:?}");
        assert!(answer.message.contains("Order.id") && answer.message.contains("UTF-8"), "{transport:?}: {answer:?}");
    }
}

#[tokio::test]
async fn a_compressed_frame_without_a_grpc_encoding_is_refused() {
    let server = spawn().await;
    let order = Order { id: "zipped".into(), ..Order::default() };
    for (transport, answer) in answers_to(&server, &frame(1, &order.encode_to_vec())).await {
        assert_eq!(answer.code, Code::Internal, "{transport:?}: {answer:?}");
        assert!(
            answer.message.contains("compressed-flag but no grpc-encoding was specified"),
            "{transport:?}: {answer:?}"
        );
    }
    assert_nothing_stored_as(&server, "zipped").await;
}

#[tokio::test]
async fn thousands_of_streams_dropped_without_a_word_all_close_and_the_server_still_serves() {
    // Within the server's default of 256 concurrent streams per connection (--max-concurrent-streams).
    const CONNECTIONS: usize = 20;
    const STREAMS_PER_CONNECTION: usize = 100;
    let server = spawn().await;
    let mut connections = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut connection = RawGrpc::connect(&server).await;
        for _ in 0..STREAMS_PER_CONNECTION {
            // One id, so each stream holds a pending batch; then silence, never a half-close.
            let id = frame(0, &"102".to_string().encode_to_vec());
            let ids = futures::stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from(id)))])
                .chain(futures::stream::pending());
            calls.push(connection.start(PROCESS_ORDERS, BodyExt::boxed(StreamBody::new(ids))).await);
        }
        connections.push(connection);
    }
    server.wait_for_open_streams(CONNECTIONS * STREAMS_PER_CONNECTION).await;
    assert_still_serves_others(&server).await;

    drop(calls);
    drop(connections); // each socket closes: no GOAWAY, no RST_STREAM
    server.wait_for_open_streams(0).await;
    assert_still_serves_others(&server).await;
}
