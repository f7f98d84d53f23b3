//! Calls answered before their body is read (a write without the token, an
//! unknown method), over HTTP/1.1 from a raw socket that sends its whole
//! request before it reads, as browsers and node do: the answer arrives
//! whole, never lost to a reset. A body within the server's drain bound is
//! read and discarded, and the connection serves the next request; a longer
//! one is answered with `connection: close`, and the server closes
//! gracefully, reading what the client still sends.

mod common;

use std::net::SocketAddr;

use backend::Config;
use backend::auth::{WriteAccess, WriteToken};
use common::TestServer;
use ordermgt_proto::Order;
use prost::Message;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

async fn guarded_server() -> TestServer {
    let token = WriteToken::new("early-answers-token").expect("a valid token");
    common::spawn_app(common::app(Config::default()).await.with_write_access(WriteAccess::new(Some(token)))).await
}

/// A gRPC-Web addOrder request (no token) whose order is about `bytes` long.
fn refused_write(addr: SocketAddr, bytes: usize) -> Vec<u8> {
    let order = Order { id: "early-1".into(), description: "x".repeat(bytes), ..Order::default() };
    let message = order.encode_to_vec();
    let mut request = format!(
        "POST /ecommerce.OrderManagement/addOrder HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\n\r\n",
        message.len() + 5
    )
    .into_bytes();
    request.push(0);
    request.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    request.extend_from_slice(&message);
    request
}

/// The status line and headers of the next response, lower-cased, and its body.
async fn read_response(reader: &mut BufReader<OwnedReadHalf>) -> (Vec<String>, Vec<u8>) {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).await.expect("the answer is not reset");
        assert!(read > 0, "the connection ended before the answer's head; got {head:?}");
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_ascii_lowercase());
    }
    let length =
        head.iter().find_map(|line| line.strip_prefix("content-length: ")).map_or(0, |n| n.parse().expect("n"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.expect("the answer's body is not reset");
    (head, body)
}

fn says_unauthenticated(head: &[String]) {
    assert_eq!(head[0], "http/1.1 200 ok", "{head:?}");
    assert!(head.iter().any(|line| line == "grpc-status: 16"), "UNAUTHENTICATED: {head:?}");
}

#[tokio::test]
async fn a_refused_write_of_a_megabyte_is_answered_and_the_connection_serves_the_next_request() {
    let server = guarded_server().await;
    let (reader, mut writer) = TcpStream::connect(server.addr).await.expect("connect").into_split();
    let mut reader = BufReader::new(reader);
    for attempt in 0..3 {
        // The whole request goes out while the answer is read, as a browser sends it.
        let request = refused_write(server.addr, 1 << 20);
        let sending = tokio::spawn(async move {
            writer.write_all(&request).await.expect("the server takes the whole body");
            writer
        });
        let (head, _) = read_response(&mut reader).await;
        says_unauthenticated(&head);
        assert!(!head.iter().any(|line| line == "connection: close"), "attempt {attempt}: {head:?}");
        writer = sending.await.expect("join");
    }
    // An unknown method, on the same connection still.
    let unknown = b"POST /ecommerce.OrderManagement/noSuchMethod HTTP/1.1\r\nHost: x\r\n\
        Content-Type: application/grpc-web+proto\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0";
    let unknown = String::from_utf8_lossy(unknown).replace("Host: x", &format!("Host: {}", server.addr));
    writer.write_all(unknown.as_bytes()).await.expect("send");
    let (head, _) = read_response(&mut reader).await;
    assert!(head.iter().any(|line| line == "grpc-status: 12"), "UNIMPLEMENTED: {head:?}");
}

#[tokio::test]
async fn past_the_drain_bound_the_answer_says_close_and_arrives_before_the_server_closes() {
    let server = guarded_server().await;
    let (reader, mut writer) = TcpStream::connect(server.addr).await.expect("connect").into_split();
    let mut reader = BufReader::new(reader);
    // 24 MiB: more than the server reads to keep a connection.
    let request = refused_write(server.addr, 24 << 20);
    let sending = tokio::spawn(async move { writer.write_all(&request).await.map(|()| writer) });
    let (head, _) = read_response(&mut reader).await;
    says_unauthenticated(&head);
    assert!(head.iter().any(|line| line == "connection: close"), "{head:?}");
    // The server's side then ends cleanly: an end of stream, not a reset.
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.expect("a clean end, not a reset");
    assert!(rest.is_empty(), "nothing after the answer");
    drop(sending);
}
