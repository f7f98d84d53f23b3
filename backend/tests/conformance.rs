//! What the gRPC spec and the reference servers ask of us beyond the happy
//! path, tried with raw requests over HTTP/2 and HTTP/1.1: a content type
//! the server does not speak is answered 415 with a gRPC status, and a unary
//! or server-streaming call that sends more than one message fails INTERNAL
//! (as grpc-go answers) and changes nothing.

mod common;

use bytes::Bytes;
use common::grpc_web::{Encoding, frame, raw_request, send};
use common::spawn;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use ordermgt_proto::Order;
use prost::Message;
use tonic::Code;

const GET_ORDER: &str = "/ecommerce.OrderManagement/getOrder";
const ADD_ORDER: &str = "/ecommerce.OrderManagement/addOrder";
const SEARCH_ORDERS: &str = "/ecommerce.OrderManagement/searchOrders";

/// What a raw call came back with: HTTP status, gRPC status and message
/// (from the headers of a trailers-only answer, or from the trailers), body.
struct Answer {
    http_status: StatusCode,
    grpc_status: Option<String>,
    grpc_message: String,
    body: Bytes,
}

/// POSTs `body` to `path` with `content_type`, over HTTP/2 (prior knowledge) or HTTP/1.1.
async fn post(base: &str, path: &str, content_type: &str, body: Vec<u8>, http2: bool) -> Answer {
    let request = Request::post(format!("{base}{path}"))
        .header("content-type", content_type)
        .header("te", "trailers")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let client = Client::builder(TokioExecutor::new()).http2_only(http2).build_http();
    let response = client.request(request).await.expect("an HTTP answer");
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.expect("body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let field = |name: &str| {
        parts.headers.get(name).or_else(|| trailers.get(name)).map(|value| value.to_str().expect("ascii").to_string())
    };
    Answer {
        http_status: parts.status,
        grpc_status: field("grpc-status"),
        grpc_message: common::grpc_web::percent_decode(&field("grpc-message").unwrap_or_default()),
        body: collected.to_bytes(),
    }
}

fn string_value(value: &str) -> Vec<u8> {
    frame(0, &value.to_string().encode_to_vec())
}

#[tokio::test]
async fn content_types_the_server_does_not_speak_get_415_with_a_grpc_status_over_either_http() {
    let server = spawn().await;
    for content_type in ["application/grpc+json", "application/proto", "application/json", "text/plain"] {
        for http2 in [true, false] {
            let answer = post(&server.url(), GET_ORDER, content_type, string_value("102"), http2).await;
            let case = format!("{content_type} over HTTP/{}", if http2 { "2" } else { "1.1" });
            assert_eq!(answer.http_status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{case}");
            assert_eq!(answer.grpc_status.as_deref(), Some("13"), "{case}");
            assert!(answer.grpc_message.contains(content_type), "{case}: {}", answer.grpc_message);
            let text = String::from_utf8_lossy(&answer.body);
            assert!(text.contains("application/grpc"), "{case}: the body names what is spoken: {text}");
        }
    }
    // Nothing written under a type the server does not speak.
    let order = Order { id: "json-1".into(), ..common::order_101() };
    let answer = post(&server.url(), ADD_ORDER, "application/json", frame(0, &order.encode_to_vec()), true).await;
    assert_eq!(answer.http_status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let missing = server.client().await.get_order("json-1".to_string()).await.expect_err("not stored");
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn the_types_the_server_speaks_are_served_with_parameters_too() {
    let server = spawn().await;
    for content_type in ["application/grpc", "application/grpc+proto", "application/grpc; charset=utf-8"] {
        let answer = post(&server.url(), GET_ORDER, content_type, string_value("102"), true).await;
        assert_eq!((answer.http_status, answer.grpc_status.as_deref()), (StatusCode::OK, Some("0")), "{content_type}");
    }
}

#[tokio::test]
async fn a_unary_call_with_two_request_messages_fails_internal_and_stores_nothing() {
    let server = spawn().await;
    let mut two = string_value("102");
    two.extend(string_value("103"));
    let answer = post(&server.url(), GET_ORDER, "application/grpc", two, true).await;
    assert_eq!(answer.grpc_status.as_deref(), Some("13"), "{}", answer.grpc_message);
    assert!(answer.grpc_message.contains("exactly one request message"), "{}", answer.grpc_message);
    assert!(answer.grpc_message.contains(GET_ORDER), "{}", answer.grpc_message);

    let orders: Vec<u8> = ["two-1", "two-2"]
        .iter()
        .flat_map(|id| frame(0, &Order { id: (*id).into(), ..common::order_101() }.encode_to_vec()))
        .collect();
    let answer = post(&server.url(), ADD_ORDER, "application/grpc", orders, true).await;
    assert_eq!(answer.grpc_status.as_deref(), Some("13"), "{}", answer.grpc_message);
    let mut client = server.client().await;
    for id in ["two-1", "two-2"] {
        let missing = client.get_order(id.to_string()).await.expect_err("nothing stored");
        assert_eq!(missing.code(), Code::NotFound, "{id}");
    }
}

#[tokio::test]
async fn a_server_streaming_call_with_two_request_messages_fails_internal_native_and_grpc_web() {
    let server = spawn().await;
    let mut two = string_value("Google");
    two.extend(string_value("Apple"));
    let native = post(&server.url(), SEARCH_ORDERS, "application/grpc", two.clone(), true).await;
    assert_eq!(native.grpc_status.as_deref(), Some("13"), "{}", native.grpc_message);
    assert!(native.grpc_message.contains("exactly one request message"), "{}", native.grpc_message);
    for http2 in [false, true] {
        let web = send(raw_request(&format!("{}{SEARCH_ORDERS}", server.url()), Encoding::Binary, &two), http2).await;
        assert_eq!(web.grpc_status.as_deref(), Some("13"), "HTTP/2: {http2}: {:?}", web.grpc_message);
        assert!(web.messages.is_empty(), "no order streamed for a malformed request");
    }
}
