//! What an operator sees: Prometheus metrics at `/metrics` on the same port.
//! (The log line per call is tested on the binary, in server_binary.rs.)

mod common;

use common::grpc_web::{self, Encoding};
use common::sample;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

async fn scrape(server: &common::TestServer) -> String {
    let client = Client::builder(TokioExecutor::new()).build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client.get(format!("{}/metrics", server.url()).parse().expect("uri")).await.expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    String::from_utf8(response.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8")
}

#[tokio::test]
async fn calls_are_counted_by_method_and_code_natively_and_over_grpc_web() {
    let server = common::spawn().await;
    let mut client = server.client().await;
    client.get_order("102".to_string()).await.expect("found");
    client.get_order("nope".to_string()).await.expect_err("not found");
    let uri = format!("{}/ecommerce.OrderManagement/getOrder", server.url());
    let web = grpc_web::send(grpc_web::request(&uri, Encoding::Binary, &"103".to_string()), false).await;
    assert_eq!(web.grpc_status.as_deref(), Some("0"));

    let text = scrape(&server).await;
    let get_order = r#"grpc_service="ecommerce.OrderManagement",grpc_method="getOrder",grpc_type="unary""#;
    assert_eq!(sample(&text, &format!("grpc_server_started_total{{{get_order}}}")), Some(3.0), "{text}");
    assert_eq!(sample(&text, &format!("grpc_server_handled_total{{{get_order},grpc_code=\"OK\"}}")), Some(2.0));
    assert_eq!(sample(&text, &format!("grpc_server_handled_total{{{get_order},grpc_code=\"NotFound\"}}")), Some(1.0));
    assert_eq!(sample(&text, &format!("grpc_server_handling_seconds_count{{{get_order}}}")), Some(3.0));
}

#[tokio::test]
async fn processing_counts_shipments_orders_rejections_and_open_streams() {
    let server = common::spawn().await;
    let mut client = server.client().await;
    let (ids, outgoing) = tokio::sync::mpsc::channel::<String>(8);
    let mut shipments =
        client.process_orders(tokio_stream::wrappers::ReceiverStream::new(outgoing)).await.expect("open").into_inner();
    // The book's first batch: two to Mountain View, one to San Jose; then an unknown id.
    for id in ["102", "103", "104", "999"] {
        ids.send(id.into()).await.expect("send");
    }
    for _ in 0..3 {
        shipments.message().await.expect("read").expect("a shipment or the rejection");
    }
    let open = scrape(&server).await;
    assert_eq!(sample(&open, "ordermgt_process_streams_open"), Some(1.0), "{open}");
    assert_eq!(sample(&open, "ordermgt_shipments_emitted_total"), Some(2.0));
    assert_eq!(sample(&open, "ordermgt_orders_shipped_total"), Some(3.0));
    assert_eq!(sample(&open, "ordermgt_rejected_ids_total"), Some(1.0));

    drop(ids);
    assert!(shipments.message().await.expect("clean end").is_none());
    server.wait_for_open_streams(0).await;
    let closed = scrape(&server).await;
    assert_eq!(sample(&closed, "ordermgt_process_streams_open"), Some(0.0));
    let process = r#"grpc_service="ecommerce.OrderManagement",grpc_method="processOrders",grpc_type="bidi_stream""#;
    assert_eq!(sample(&closed, &format!("grpc_server_handled_total{{{process},grpc_code=\"OK\"}}")), Some(1.0));
}

#[tokio::test]
async fn a_call_the_client_abandons_is_counted_as_cancelled() {
    let server = common::spawn().await;
    let mut client = server.client().await;
    let (ids, outgoing) = tokio::sync::mpsc::channel::<String>(8);
    let shipments = client.process_orders(tokio_stream::wrappers::ReceiverStream::new(outgoing)).await.expect("open");
    drop((shipments, ids, client));
    server.wait_for_open_streams(0).await;
    let process = r#"grpc_service="ecommerce.OrderManagement",grpc_method="processOrders",grpc_type="bidi_stream""#;
    let series = format!("grpc_server_handled_total{{{process},grpc_code=\"Canceled\"}}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while sample(&scrape(&server).await, &series) != Some(1.0) {
        assert!(tokio::time::Instant::now() < deadline, "the abandoned call was never counted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unknown_paths_do_not_mint_new_series() {
    let server = common::spawn().await;
    for path in ["/evil.Service/a", "/ecommerce.OrderManagement/evil"] {
        let uri = format!("{}{path}", server.url());
        let response = grpc_web::send(grpc_web::request(&uri, Encoding::Binary, &"x".to_string()), false).await;
        assert_eq!(response.grpc_status.as_deref(), Some("12"), "{path} is unimplemented: {response:?}");
    }
    let text = scrape(&server).await;
    assert!(!text.contains("evil"), "{text}");
}
