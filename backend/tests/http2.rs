//! HTTP/2 itself, as served by our own h2 glue: connections that end in an
//! error are counted in `/metrics` by who ended them and why.

mod common;

use std::time::Duration;

use common::spawn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An HTTP/2 frame: 9 bytes of header, then the payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("small payload").to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

const DATA: u8 = 0x0;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;

/// Reads frames until a GOAWAY; its error code. Fails if the connection ends first.
async fn goaway_from(tcp: &mut TcpStream) -> u32 {
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while buffer.len() >= 9 {
            let length = usize::from(buffer[0]) << 16 | usize::from(buffer[1]) << 8 | usize::from(buffer[2]);
            if buffer.len() < 9 + length {
                break;
            }
            let frame: Vec<u8> = buffer.drain(..9 + length).collect();
            if frame[3] == GOAWAY {
                return u32::from_be_bytes([frame[13], frame[14], frame[15], frame[16]]);
            }
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await.expect("a GOAWAY in time");
        let read = read.expect("read");
        assert!(read > 0, "the connection closed without a GOAWAY");
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// Waits, up to 10 s, for `/metrics` to show `line`.
async fn wait_for_metric(server: &common::TestServer, line: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let exposition = server.app.metrics().encode();
        if exposition.lines().any(|shown| shown == line) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {line:?} in:\n{exposition}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_protocol_error_is_answered_with_goaway_and_counted() {
    let server = spawn().await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(PREFACE).await.expect("preface");
    tcp.write_all(&frame(SETTINGS, 0, 0, &[])).await.expect("settings");
    // DATA on stream 0, which RFC 9113 makes a connection error of type PROTOCOL_ERROR.
    tcp.write_all(&frame(DATA, 0, 0, b"hello")).await.expect("data");
    assert_eq!(goaway_from(&mut tcp).await, 0x1, "PROTOCOL_ERROR");
    wait_for_metric(
        &server,
        r#"ordermgt_connection_errors_total{protocol="h2",initiator="server",reason="PROTOCOL_ERROR"} 1"#,
    )
    .await;
}

#[tokio::test]
async fn a_client_closing_with_an_error_is_counted_by_its_reason() {
    let server = spawn().await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(PREFACE).await.expect("preface");
    tcp.write_all(&frame(SETTINGS, 0, 0, &[])).await.expect("settings");
    // GOAWAY: last stream 0, ENHANCE_YOUR_CALM.
    let mut payload = 0u32.to_be_bytes().to_vec();
    payload.extend_from_slice(&0xbu32.to_be_bytes());
    tcp.write_all(&frame(GOAWAY, 0, 0, &payload)).await.expect("goaway");
    wait_for_metric(
        &server,
        r#"ordermgt_connection_errors_total{protocol="h2",initiator="client",reason="ENHANCE_YOUR_CALM"} 1"#,
    )
    .await;
}
