//! ecommerce.OrderManagementWeb: the browser's twins of updateOrders and processOrders.

mod common;

use common::grpc_web::{Encoding, request, send};
use common::{TestServer, order_101, shipped, spawn, summary};
use ordermgt_proto::order_management_web_client::OrderManagementWebClient;
use ordermgt_proto::processing_event::Event;
use ordermgt_proto::{CombinedShipment, Order, OrderList, ProcessingEvent, SessionToken, SubmitOrderId};
use tonic::transport::Channel;
use tonic::{Code, Streaming};

async fn web_client(server: &TestServer) -> OrderManagementWebClient<Channel> {
    let channel = Channel::from_shared(server.url()).expect("url").connect().await.expect("connect");
    OrderManagementWebClient::new(channel)
}

fn priced(id: &str, price: f32) -> Order {
    Order { id: id.into(), items: vec!["Thing".into()], price, destination: "Somewhere".into(), ..Order::default() }
}

async fn price_of(server: &TestServer, id: &str) -> f32 {
    server.client().await.get_order(id.to_string()).await.expect("get").into_inner().price
}

#[tokio::test]
async fn the_unary_update_has_update_orders_rules() {
    let server = spawn().await;
    let mut web = web_client(&server).await;
    let reply = web.update_orders_unary(OrderList { orders: vec![priced("102", 1.0), priced("103", 2.0)] }).await;
    assert_eq!(reply.expect("update").into_inner(), "Updated orders: 102, 103");
    assert_eq!((price_of(&server, "102").await, price_of(&server, "103").await), (1.0, 2.0));

    let status = web
        .update_orders_unary(OrderList { orders: vec![priced("102", 5.0), priced("999", 5.0)] })
        .await
        .expect_err("999 unknown");
    assert_eq!((status.code(), status.message()), (Code::NotFound, "order 999 not found"));
    let status = web
        .update_orders_unary(OrderList { orders: vec![priced("102", 5.0), priced("103", -5.0)] })
        .await
        .expect_err("103 invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("103"), "{}", status.message());
    assert_eq!(price_of(&server, "102").await, 1.0, "a refused update changes nothing");
}

#[tokio::test]
async fn the_unary_update_works_over_grpc_web() {
    let server = spawn().await;
    let url = format!("{}/ecommerce.OrderManagementWeb/updateOrdersUnary", server.url());
    let response = send(request(&url, Encoding::Text, &OrderList { orders: vec![priced("104", 7.0)] }), false).await;
    assert_eq!(response.grpc_status.as_deref(), Some("0"));
    assert_eq!(response.decode::<String>(), ["Updated orders: 104"]);
    assert_eq!(price_of(&server, "104").await, 7.0);
}

async fn open(web: &mut OrderManagementWebClient<Channel>) -> (String, Streaming<ProcessingEvent>) {
    let mut events = web.process_orders_open(()).await.expect("open").into_inner();
    match events.message().await.expect("read").and_then(|event| event.event) {
        Some(Event::SessionToken(token)) => (token, events),
        other => panic!("a session starts with its token, not {other:?}"),
    }
}

async fn next_shipment(events: &mut Streaming<ProcessingEvent>) -> CombinedShipment {
    match events.message().await.expect("read").and_then(|event| event.event) {
        Some(Event::Shipment(shipment)) => shipment,
        other => panic!("expected a shipment, got {other:?}"),
    }
}

async fn submit(web: &mut OrderManagementWebClient<Channel>, token: &str, id: &str) -> Result<(), tonic::Status> {
    web.process_orders_submit(SubmitOrderId { session_token: token.into(), order_id: id.into() }).await.map(drop)
}

#[tokio::test]
async fn a_session_runs_the_books_flow_like_process_orders() {
    let server = spawn().await;
    server.client().await.add_order(order_101()).await.expect("add 101");
    let mut web = web_client(&server).await;
    let (token, mut events) = open(&mut web).await;
    for id in ["102", "103", "999", "104"] {
        submit(&mut web, &token, id).await.expect("submit");
    }
    let rejection = next_shipment(&mut events).await;
    assert_eq!((rejection.is_rejection(), rejection.reason.as_str()), (true, "order 999 not found"));
    assert_eq!(summary(&next_shipment(&mut events).await), shipped("Mountain View, CA", &["102", "104"]));
    assert_eq!(summary(&next_shipment(&mut events).await), shipped("San Jose, CA", &["103"]));

    submit(&mut web, &token, "101").await.expect("submit 101");
    web.process_orders_finish(SessionToken { session_token: token.clone() }).await.expect("finish");
    assert_eq!(summary(&next_shipment(&mut events).await), shipped("San Jose, CA", &["101"]));
    assert!(events.message().await.expect("clean end").is_none());

    let status = submit(&mut web, &token, "102").await.expect_err("finished");
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("no open processing session"), "{}", status.message());
}

#[tokio::test]
async fn an_unknown_token_is_refused_clearly() {
    let server = spawn().await;
    let mut web = web_client(&server).await;
    assert_eq!(submit(&mut web, "0123", "102").await.expect_err("unknown").code(), Code::NotFound);
    let status = web.process_orders_finish(SessionToken { session_token: "0123".into() }).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn cancelling_the_stream_ends_the_session_and_its_token() {
    let server = spawn().await;
    let mut web = web_client(&server).await;
    let (token, events) = open(&mut web).await;
    submit(&mut web, &token, "102").await.expect("submit");
    assert_eq!(server.app.open_process_streams(), 1);
    drop(events);
    server.wait_for_open_streams(0).await;
    assert_eq!(submit(&mut web, &token, "103").await.expect_err("gone").code(), Code::NotFound);
}

#[tokio::test]
async fn sessions_are_independent() {
    let server = spawn().await;
    let mut web = web_client(&server).await;
    let (first, mut first_events) = open(&mut web).await;
    let (second, mut second_events) = open(&mut web).await;
    assert_ne!(first, second);
    for id in ["105", "106", "102"] {
        submit(&mut web, &first, id).await.expect("submit");
    }
    submit(&mut web, &second, "103").await.expect("submit");
    web.process_orders_finish(SessionToken { session_token: second }).await.expect("finish");
    assert_eq!(summary(&next_shipment(&mut second_events).await), shipped("San Jose, CA", &["103"]));
    assert_eq!(summary(&next_shipment(&mut first_events).await), shipped("San Jose, CA", &["105"]));
    assert_eq!(summary(&next_shipment(&mut first_events).await), shipped("Mountain View, CA", &["106", "102"]));
}

#[tokio::test]
async fn shutdown_ships_a_sessions_partial_batch_and_ends_it() {
    let mut server = spawn().await;
    let mut web = web_client(&server).await;
    let (token, mut events) = open(&mut web).await;
    for id in ["104", "999"] {
        submit(&mut web, &token, id).await.expect("submit");
    }
    assert!(next_shipment(&mut events).await.is_rejection(), "999 answered: 104 is in the batch");
    server.shut_down();
    assert_eq!(summary(&next_shipment(&mut events).await), shipped("Mountain View, CA", &["104"]));
    assert!(events.message().await.expect("a clean end, status OK").is_none());
}
