//! How far one client may go, each limit set low to be reached, and what it
//! is told when it gets there. (The unary deadline is proven in calls.rs.)

mod common;

use std::time::Duration;

use backend::Config;
use backend::config::Limits;
use common::order_101;
use ordermgt_proto::order_management_web_client::OrderManagementWebClient;
use ordermgt_proto::{Order, SubmitOrderId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

async fn spawn_with_limits(limits: Limits) -> common::TestServer {
    common::spawn_with(Config { limits, ..Config::default() }).await
}

#[tokio::test]
async fn a_message_above_the_size_limit_is_resource_exhausted_and_the_connection_serves_on() {
    let server = spawn_with_limits(Limits { max_message_bytes: 1024, ..Limits::default() }).await;
    let mut client = server.client().await;
    let too_big = Order { description: "x".repeat(2048), ..order_101() };
    let refused = client.add_order(too_big).await.expect_err("too big");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("the limit is: 1024 bytes"), "it names the limit: {}", refused.message());
    assert_eq!(client.get_order("102".to_string()).await.expect("still served").into_inner().id, "102");
    assert_eq!(client.get_order("101".to_string()).await.expect_err("nothing stored").code(), Code::NotFound);
}

#[tokio::test]
async fn a_browser_session_holds_at_most_the_pending_id_limit() {
    let server = spawn_with_limits(Limits { max_pending_ids: 2, ..Limits::default() }).await;
    // The reader's HTTP/2 window is small, so unread events soon hold the server back.
    let endpoint = tonic::transport::Endpoint::from_shared(server.url()).expect("url");
    let reader = endpoint.clone().initial_stream_window_size(1024).connect().await.expect("connect");
    let mut events = OrderManagementWebClient::new(reader).process_orders_open(()).await.expect("open").into_inner();
    let mut web = OrderManagementWebClient::new(endpoint.connect().await.expect("connect"));
    let first = events.message().await.expect("read").expect("the token comes first");
    let Some(ordermgt_proto::processing_event::Event::SessionToken(token)) = first.event else {
        panic!("expected the token, got {first:?}");
    };
    // Nobody reads the events (rejections of unknown ids): once the window
    // and the send buffers are full, ids pile up in the session's queue.
    let submit = |id: &str| SubmitOrderId { session_token: token.clone(), order_id: id.into() };
    let mut refused = None;
    for n in 0..20_000 {
        if let Err(status) = web.process_orders_submit(submit(&format!("unknown-{n}"))).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("the backlog is refused at some point");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().starts_with("2 order ids already wait unread"), "{}", refused.message());
}

#[tokio::test]
async fn one_connection_runs_at_most_the_stream_limit_and_queues_the_rest() {
    let server = spawn_with_limits(Limits { max_concurrent_streams: 2, ..Limits::default() }).await;
    // The server states its limit in its SETTINGS, which reach a client before the answer to its PING.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let (_raw, mut connection) = h2::client::handshake(tcp).await.expect("HTTP/2");
    let mut ping_pong = connection.ping_pong().expect("pings");
    tokio::select! {
        pong = ping_pong.ping(h2::Ping::opaque()) => drop(pong.expect("pong")),
        ended = &mut connection => panic!("the connection ended before the pong: {ended:?}"),
    }
    assert_eq!(connection.max_concurrent_send_streams(), 2, "the limit the server states");

    // A client that keeps to it: of three calls on one connection two run, and the third waits
    // for the first to end, then runs in its place.
    let mut client = server.client().await; // one HTTP/2 connection
    // A first call makes sure this client has read the server's SETTINGS too.
    client.get_order("102".to_string()).await.expect("get");
    let mut senders = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..3 {
        let (ids, outgoing) = tokio::sync::mpsc::channel::<String>(1);
        let mut client = client.clone();
        calls.push(tokio::spawn(async move { client.process_orders(ReceiverStream::new(outgoing)).await }));
        senders.push(ids);
    }
    server.wait_for_open_streams(2).await;
    drop(senders.remove(0)); // half-close the first: it ends and frees its stream
    let mut first = calls.remove(0).await.expect("join").expect("the first call ran").into_inner();
    assert!(first.message().await.expect("clean end").is_none());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.started("processOrders") < 3 {
        assert!(tokio::time::Instant::now() < deadline, "the third call never began once the first had ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.wait_for_open_streams(2).await; // the second and the third
    drop(senders);
    server.wait_for_open_streams(0).await;
    for call in calls {
        let mut shipments = call.await.expect("join").expect("every call ran").into_inner();
        assert!(shipments.message().await.expect("clean end").is_none());
    }
    assert_eq!(client.get_order("102".to_string()).await.expect("served on").into_inner().id, "102");
}

#[tokio::test]
async fn a_connection_idle_past_the_timeout_is_closed_by_the_server() {
    let server = spawn_with_limits(Limits { idle_timeout: Duration::from_millis(200), ..Limits::default() }).await;
    let answered = closed_as_idle(server.addr).await;
    assert!(answered.starts_with(b"HTTP/1.1 200"), "answered first: {}", String::from_utf8_lossy(&answered));
}

/// Makes one HTTP/1.1 request on a connection of its own and reads until the
/// server closes it for idling; what the server sent.
async fn closed_as_idle(addr: std::net::SocketAddr) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n").await.expect("send");
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut received)).await;
    read.expect("closed within 10 s").expect("read until the server closes");
    received
}

#[tokio::test]
async fn a_connection_with_a_call_open_is_not_idle() {
    let server = spawn_with_limits(Limits { idle_timeout: Duration::from_millis(100), ..Limits::default() }).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let (mut client, mut connection) = h2::client::handshake(tcp).await.expect("HTTP/2");
    let mut ping_pong = connection.ping_pong().expect("pings");
    let connection = tokio::spawn(connection);
    let (shipments, mut ids) = client
        .send_request(common::grpc_request(server.addr, "/ecommerce.OrderManagement/processOrders"), false)
        .expect("open");
    server.wait_for_open_streams(1).await;

    // Two connections opened after the call began, one after the other, are
    // each closed for idling: this one has had the call open, and nothing else,
    // for two idle timeouts and more.
    for _ in 0..2 {
        closed_as_idle(server.addr).await;
    }
    // Whatever the server sent before its answer to this ping has been read.
    ping_pong.ping(h2::Ping::opaque()).await.expect("the connection answers a ping");
    assert!(!connection.is_finished(), "the connection was closed");

    // It takes new calls (a server that had begun to close it would refuse them)...
    let (answer, mut request) = client
        .send_request(common::grpc_request(server.addr, "/ecommerce.OrderManagement/getOrder"), false)
        .expect("the server takes a new call on the connection");
    request.send_data(grpc_message("102"), true).expect("send");
    let order: ordermgt_proto::Order = read_message(answer).await;
    assert_eq!(order.id, "102");
    // ...and the open call goes on: its partial batch is shipped on the half-close.
    ids.send_data(grpc_message("102"), true).expect("send 102 and half-close");
    let shipment: ordermgt_proto::CombinedShipment = read_message(shipments).await;
    assert_eq!(shipment.orders_list[0].id, "102");
}

/// The first message of a call's answer.
async fn read_message<M: prost::Message + Default>(answer: h2::client::ResponseFuture) -> M {
    let answer = answer.await.expect("answered");
    assert_eq!(answer.status(), 200);
    let mut body = answer.into_body();
    let framed = body.data().await.expect("a message").expect("read");
    let _ = body.flow_control().release_capacity(framed.len());
    M::decode(&framed[5..]).expect("one whole message")
}

/// `id` as one length-prefixed gRPC message.
fn grpc_message(id: &str) -> bytes::Bytes {
    grpc_ws::grpc_frame(&prost::Message::encode_to_vec(&id.to_string()))
}

/// A server held to 1,024-byte messages over a store with orders of 3 KB
/// (stored under a higher limit): `a0`, `c9` and `e5` small, `big1` past the
/// limit, and `m1` to `m3` small but too large together in one shipment.
async fn spawn_with_an_order_past_the_limit() -> common::TestServer {
    let order = |id: &str, description_bytes: usize, destination: &str| backend::order::Order {
        id: id.into(),
        items: vec!["zz item".into()],
        description: "x".repeat(description_bytes),
        price: 1.0,
        destination: destination.into(),
    };
    let orders = vec![
        order("a0", 0, "A"),
        order("big1", 3000, "A"),
        order("c9", 0, "A"),
        order("e5", 0, "A"),
        order("m1", 400, "M"),
        order("m2", 400, "M"),
        order("m3", 400, "M"),
    ];
    let config = Config { limits: Limits { max_message_bytes: 1024, ..Limits::default() }, ..Config::default() };
    common::spawn_app(backend::App::with_store(
        &config,
        std::sync::Arc::new(backend::store::MemoryStore::with_orders(orders)),
    ))
    .await
}

#[tokio::test]
async fn a_search_reaching_an_order_past_the_size_limit_sends_the_orders_before_it_then_resource_exhausted() {
    let server = spawn_with_an_order_past_the_limit().await;
    let mut client = server.client().await;
    let mut found = client.search_orders("zz".to_string()).await.expect("search").into_inner();
    let first = found.message().await.expect("the first order").expect("an order");
    assert_eq!(first.id, "a0");
    let refused = found.message().await.expect_err("big1 is past the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(
        refused.message(),
        "the response message is too large: found 3026 bytes, the limit is: 1024 bytes (--max-message-bytes)"
    );

    // The same over gRPC-Web, as browsers call it, on HTTP/1.1 and HTTP/2.
    for http2 in [false, true] {
        let url = format!("{}/ecommerce.OrderManagement/searchOrders", server.url());
        let request = common::grpc_web::request(&url, common::grpc_web::Encoding::Binary, &"zz".to_string());
        let answer = common::grpc_web::send(request, http2).await;
        let ids: Vec<String> = answer.decode::<Order>().into_iter().map(|order| order.id).collect();
        assert_eq!(ids, ["a0"], "http2 {http2}");
        assert_eq!(answer.grpc_status.as_deref(), Some("8"), "http2 {http2}: RESOURCE_EXHAUSTED");
        assert!(answer.grpc_message.is_some_and(|message| message.contains("--max-message-bytes")), "http2 {http2}");
    }
    assert_eq!(client.get_order("c9".to_string()).await.expect("the server serves on").into_inner().id, "c9");
}

#[tokio::test]
async fn a_shipment_past_the_size_limit_ends_processing_after_the_shipments_before_it() {
    let server = spawn_with_an_order_past_the_limit().await;
    let mut client = server.client().await;
    // Two batches sent at once: a0, c9, e5 ship to A (small); m1, m2, m3 to M, about 1,300 bytes together.
    let ids = ["a0", "c9", "e5", "m1", "m2", "m3"].map(String::from);
    let mut shipments = client.process_orders(tokio_stream::iter(ids)).await.expect("process").into_inner();
    let first = shipments.message().await.expect("the first shipment").expect("a shipment");
    assert_eq!(common::summary(&first), common::shipped("A", &["a0", "c9", "e5"]));
    let refused = shipments.message().await.expect_err("M's shipment is past the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().starts_with("the response message is too large: found "), "{}", refused.message());
}
