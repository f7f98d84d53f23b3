//! Raw gRPC-Web over HTTP/1.1 or HTTP/2, the way a browser speaks it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// `application/grpc-web+proto` (binary) or `application/grpc-web-text` (base64).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    Binary,
    Text,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Binary => "application/grpc-web+proto",
            Encoding::Text => "application/grpc-web-text",
        }
    }
}

/// What came back: the HTTP status and headers, the messages, and the gRPC status.
#[derive(Debug)]
pub struct WebResponse {
    pub http_status: StatusCode,
    pub headers: HeaderMap,
    pub messages: Vec<Bytes>,
    pub grpc_status: Option<String>,
    pub grpc_message: Option<String>,
}

impl WebResponse {
    pub fn decode<M: prost::Message + Default>(&self) -> Vec<M> {
        self.messages.iter().map(|bytes| M::decode(bytes.clone()).expect("decode message")).collect()
    }
}

/// One length-prefixed gRPC frame.
pub fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut framed = vec![flags];
    framed.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

pub fn request(uri: &str, encoding: Encoding, message: &impl prost::Message) -> Request<Full<Bytes>> {
    raw_request(uri, encoding, &frame(0, &message.encode_to_vec()))
}

/// A request whose body is `framed` as it is, well-formed or not (base64-encoded for text).
pub fn raw_request(uri: &str, encoding: Encoding, framed: &[u8]) -> Request<Full<Bytes>> {
    let body = match encoding {
        Encoding::Binary => framed.to_vec(),
        Encoding::Text => STANDARD.encode(framed).into_bytes(),
    };
    Request::post(uri)
        .header("content-type", encoding.content_type())
        .header("x-grpc-web", "1")
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

/// Sends over HTTP/1.1, or over HTTP/2 with prior knowledge when `http2` is set.
pub async fn send(request: Request<Full<Bytes>>, http2: bool) -> WebResponse {
    let client = Client::builder(TokioExecutor::new()).http2_only(http2).build_http();
    read(client.request(request).await.expect("send")).await
}

/// Reads a gRPC-Web response whole: its messages and its status.
pub async fn read<B>(response: http::Response<B>) -> WebResponse
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    let content_type = parts.headers.get("content-type").map(|value| value.as_bytes().to_vec()).unwrap_or_default();
    let body = if content_type.starts_with(b"application/grpc-web-text") {
        decode_base64_chunks(&body)
    } else if content_type.starts_with(b"application/grpc-web") {
        body.to_vec()
    } else {
        Vec::new() // not gRPC-Web: no frames to read
    };
    let mut response = WebResponse {
        grpc_status: header(&parts.headers, "grpc-status"),
        grpc_message: header(&parts.headers, "grpc-message").map(|message| percent_decode(&message)),
        http_status: parts.status,
        headers: parts.headers,
        messages: Vec::new(),
    };
    let mut rest = body.as_slice();
    while rest.len() >= 5 {
        let flags = rest[0];
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let payload = &rest[5..5 + len];
        if flags & 0x80 == 0 {
            response.messages.push(Bytes::copy_from_slice(payload));
        } else {
            for line in String::from_utf8_lossy(payload).split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    let value = Some(percent_decode(value.trim()));
                    match name.trim().to_ascii_lowercase().as_str() {
                        "grpc-status" => response.grpc_status = value,
                        "grpc-message" => response.grpc_message = value,
                        _ => {}
                    }
                }
            }
        }
        rest = &rest[5 + len..];
    }
    response
}

/// A grpc-web-text body may be several base64 strings back to back, each
/// padded; every 4-character group decodes on its own.
fn decode_base64_chunks(body: &[u8]) -> Vec<u8> {
    body.chunks(4).flat_map(|group| STANDARD.decode(group).expect("base64")).collect()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string)
}

/// Undoes the percent-encoding of `grpc-message`.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
