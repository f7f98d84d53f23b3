//! gRPC-Web as browsers speak it (binary and text, HTTP/1.1 and HTTP/2), CORS,
//! and ordinary HTTP on the same port.

mod common;

use backend::Config;
use bytes::Bytes;
use common::grpc_web::{Encoding, WebResponse, request, send};
use common::{TestServer, spawn, spawn_with};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use ordermgt_proto::Order;

const GET_ORDER: &str = "/ecommerce.OrderManagement/getOrder";
const SEARCH_ORDERS: &str = "/ecommerce.OrderManagement/searchOrders";

async fn call(server: &TestServer, path: &str, encoding: Encoding, message: &str, http2: bool) -> WebResponse {
    send(request(&format!("{}{path}", server.url()), encoding, &message.to_string()), http2).await
}

#[tokio::test]
async fn a_unary_call_works_in_binary_and_text_over_http1_and_http2() {
    let server = spawn().await;
    for encoding in [Encoding::Binary, Encoding::Text] {
        for http2 in [false, true] {
            let response = call(&server, GET_ORDER, encoding, "103", http2).await;
            let case = format!("{encoding:?}, http2 {http2}");
            assert_eq!(response.http_status, StatusCode::OK, "{case}");
            let content_type = response.headers.get("content-type").expect("content type").to_str().expect("ascii");
            assert!(content_type.starts_with("application/grpc-web"), "{case}: {content_type}");
            assert_eq!(response.grpc_status.as_deref(), Some("0"), "{case}");
            let orders: Vec<Order> = response.decode();
            assert_eq!(orders.len(), 1, "{case}");
            assert_eq!(
                (orders[0].id.as_str(), orders[0].items.as_slice()),
                ("103", ["Apple Watch S4".to_string()].as_slice())
            );
        }
    }
}

#[tokio::test]
async fn a_unary_error_carries_its_status_and_message() {
    let server = spawn().await;
    for encoding in [Encoding::Binary, Encoding::Text] {
        let response = call(&server, GET_ORDER, encoding, "999", false).await;
        assert_eq!(response.http_status, StatusCode::OK, "{encoding:?}");
        assert_eq!(response.grpc_status.as_deref(), Some("5"), "{encoding:?}: NOT_FOUND");
        assert_eq!(response.grpc_message.as_deref(), Some("order 999 not found"), "{encoding:?}");
        assert!(response.messages.is_empty());
    }
}

#[tokio::test]
async fn a_server_stream_arrives_whole_in_binary_and_text_over_http1() {
    let server = spawn().await;
    for encoding in [Encoding::Binary, Encoding::Text] {
        let response = call(&server, SEARCH_ORDERS, encoding, "google", false).await;
        assert_eq!(response.grpc_status.as_deref(), Some("0"), "{encoding:?}");
        let ids: Vec<String> = response.decode::<Order>().into_iter().map(|order| order.id).collect();
        assert_eq!(ids, ["102", "104"], "{encoding:?}");
    }
}

fn preflight(server: &TestServer, origin: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{}{GET_ORDER}", server.url()))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web,x-user-agent")
        .body(Full::default())
        .expect("request")
}

fn allow_origin(response: &WebResponse) -> Option<&str> {
    response.headers.get("access-control-allow-origin").and_then(|value| value.to_str().ok())
}

async fn server_allowing(origin: &str) -> TestServer {
    spawn_with(Config { cors_origins: vec![origin.parse().expect("origin")], ..Config::default() }).await
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_allowed_with_the_grpc_web_headers() {
    let server = server_allowing("http://localhost:8080").await;
    let response = send(preflight(&server, "http://localhost:8080"), false).await;
    assert_eq!(response.http_status, StatusCode::OK);
    assert_eq!(allow_origin(&response), Some("http://localhost:8080"));
    let allowed =
        response.headers.get("access-control-allow-headers").expect("allowed headers").to_str().expect("ascii");
    assert!(allowed.contains("x-grpc-web") && allowed.contains("content-type"), "{allowed}");

    let mut call = request(&format!("{}{GET_ORDER}", server.url()), Encoding::Binary, &"102".to_string());
    call.headers_mut().insert("origin", "http://localhost:8080".parse().expect("header"));
    let response = send(call, false).await;
    assert_eq!(response.grpc_status.as_deref(), Some("0"));
    assert_eq!(allow_origin(&response), Some("http://localhost:8080"));
    let exposed = response.headers.get("access-control-expose-headers").expect("exposed").to_str().expect("ascii");
    assert_eq!(exposed, "*", "grpc-status, grpc-message and the call's own metadata");
}

#[tokio::test]
async fn a_page_on_a_listed_origin_may_send_metadata_of_its_own() {
    let server = server_allowing("http://localhost:8080").await;
    let mut asks = preflight(&server, "http://localhost:8080");
    asks.headers_mut().insert(
        "access-control-request-headers",
        "content-type,x-grpc-web,x-request-id,traceparent".parse().expect("header"),
    );
    let response = send(asks, false).await;
    assert_eq!(response.http_status, StatusCode::OK);
    let allowed =
        response.headers.get("access-control-allow-headers").expect("allowed headers").to_str().expect("ascii");
    for header in ["x-request-id", "traceparent", "content-type", "x-grpc-web"] {
        assert!(allowed.contains(header), "{header} not in {allowed}");
    }

    let mut call = request(&format!("{}{GET_ORDER}", server.url()), Encoding::Binary, &"102".to_string());
    call.headers_mut().insert("origin", "http://localhost:8080".parse().expect("header"));
    call.headers_mut().insert("x-request-id", "req-7".parse().expect("header"));
    call.headers_mut()
        .insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().expect("header"));
    let response = send(call, false).await;
    assert_eq!(response.grpc_status.as_deref(), Some("0"), "the call with metadata is answered");
}

#[tokio::test]
async fn an_unlisted_origin_is_refused_before_the_call_runs() {
    let server = server_allowing("http://localhost:8080").await;
    let response = send(preflight(&server, "http://evil.example"), false).await;
    assert_eq!(response.http_status, StatusCode::FORBIDDEN);
    assert_eq!(allow_origin(&response), None);

    let mut add = request(
        &format!("{}/ecommerce.OrderManagement/addOrder", server.url()),
        Encoding::Binary,
        &Order { id: "666".into(), ..Order::default() },
    );
    add.headers_mut().insert("origin", "http://evil.example".parse().expect("header"));
    let response = send(add, false).await;
    assert_eq!(response.http_status, StatusCode::FORBIDDEN);
    assert_eq!(response.grpc_status.as_deref(), Some("7"), "PERMISSION_DENIED");
    assert!(response.grpc_message.as_deref().is_some_and(|m| m.contains("--cors-origin http://evil.example")));
    let status = server.client().await.get_order("666".to_string()).await.expect_err("not added");
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn the_servers_own_origin_needs_no_listing() {
    let server = spawn().await;
    let mut call = request(&format!("{}{GET_ORDER}", server.url()), Encoding::Text, &"105".to_string());
    call.headers_mut().insert("origin", server.url().parse().expect("header"));
    let response = send(call, false).await;
    assert_eq!(response.grpc_status.as_deref(), Some("0"));
    assert_eq!(response.decode::<Order>()[0].id, "105");
}

#[tokio::test]
async fn plain_http_on_the_same_port_is_not_mistaken_for_grpc_web() {
    let server = spawn().await;
    let home = Request::get(format!("{}/", server.url())).body(Full::default()).expect("request");
    let response = send(home, false).await;
    // The page is not built for these tests: what matters is that plain HTTP gets an HTML answer, not gRPC-Web's 400.
    assert_eq!(response.http_status, StatusCode::SERVICE_UNAVAILABLE);
    let content_type = response.headers.get("content-type").expect("content type").to_str().expect("ascii");
    assert!(content_type.starts_with("text/html"), "{content_type}");
}
