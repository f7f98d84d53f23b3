//! addOrder and getOrder over native gRPC (HTTP/2).

mod common;

use common::{order_101, spawn};
use ordermgt_proto::Order;
use tonic::Code;

#[tokio::test]
async fn the_book_sample_orders_are_there_from_the_start() {
    let server = spawn().await;
    let mut client = server.client().await;
    let order = client.get_order("102".to_string()).await.expect("get 102").into_inner();
    assert_eq!(order.items, ["Google Pixel 3A", "Mac Book Pro"]);
    assert_eq!((order.destination.as_str(), order.price), ("Mountain View, CA", 1800.0));
    for id in ["103", "104", "105", "106"] {
        client.get_order(id.to_string()).await.unwrap_or_else(|status| panic!("get {id}: {status}"));
    }
}

#[tokio::test]
async fn an_added_order_can_be_read_back_unchanged() {
    let server = spawn().await;
    let mut client = server.client().await;
    let id = client.add_order(order_101()).await.expect("add 101").into_inner();
    assert_eq!(id, "101");
    assert_eq!(client.get_order("101".to_string()).await.expect("get 101").into_inner(), order_101());
}

#[tokio::test]
async fn an_order_without_id_gets_a_fresh_unique_one() {
    let server = spawn().await;
    let mut client = server.client().await;
    let unnamed = Order { id: String::new(), ..order_101() };
    let first = client.add_order(unnamed.clone()).await.expect("add").into_inner();
    let second = client.add_order(unnamed).await.expect("add again").into_inner();
    assert!(!first.is_empty() && first != second, "{first} vs {second}");
    let stored = client.get_order(first.clone()).await.expect("get").into_inner();
    assert_eq!(stored, Order { id: first, ..order_101() });
}

#[tokio::test]
async fn adding_an_existing_id_is_already_exists_and_keeps_the_original() {
    let server = spawn().await;
    let mut client = server.client().await;
    let status = client.add_order(Order { id: "102".into(), ..order_101() }).await.expect_err("102 exists");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(status.message(), "order 102 already exists");
    let kept = client.get_order("102".to_string()).await.expect("get").into_inner();
    assert_eq!(kept.destination, "Mountain View, CA");
}

#[tokio::test]
async fn invalid_orders_are_invalid_argument_naming_the_field_and_are_not_stored() {
    let server = spawn().await;
    let mut client = server.client().await;
    let cases = [
        (Order { price: -5.0, ..order_101() }, "price"),
        (Order { price: f32::NAN, ..order_101() }, "price"),
        (Order { price: f32::INFINITY, ..order_101() }, "price"),
        (Order { items: vec!["x".repeat(5_000)], ..order_101() }, "items"),
        (Order { items: vec!["x".into(); 5_000], ..order_101() }, "items"),
        (Order { id: "9".repeat(200), ..order_101() }, "id"),
        (Order { destination: "d".repeat(5_000), ..order_101() }, "destination"),
        (Order { description: "d".repeat(100_000), ..order_101() }, "description"),
    ];
    for (order, field) in cases {
        let status = client.add_order(order).await.expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{field}: {}", status.message());
    }
    let status = client.get_order("101".to_string()).await.expect_err("nothing stored");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn an_unknown_id_is_not_found_naming_the_id() {
    let server = spawn().await;
    let mut client = server.client().await;
    let status = client.get_order("999".to_string()).await.expect_err("999 unknown");
    assert_eq!((status.code(), status.message()), (Code::NotFound, "order 999 not found"));
}

#[tokio::test]
async fn concurrent_adds_of_one_id_have_exactly_one_winner() {
    let server = spawn().await;
    let client = server.client().await;
    let attempts = (0..32).map(|n| {
        let mut client = client.clone();
        tokio::spawn(async move { client.add_order(Order { id: "race".into(), price: n as f32, ..order_101() }).await })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn of_concurrent_adds_of_one_id_exactly_one_wins() {
    let server = spawn().await;
    let client = server.client().await;
    let adds = (0..16).map(|n| {
        let mut client = client.clone();
        tokio::spawn(async move { client.add_order(Order { price: n as f32, ..order_101() }).await })
    });
    let results = futures::future::join_all(adds).await;
    let (won, lost): (Vec<_>, Vec<_>) =
        results.into_iter().map(|joined| joined.expect("join")).partition(Result::is_ok);
    assert_eq!(won.len(), 1, "exactly one add wins");
    assert!(lost.iter().all(|result| result.as_ref().is_err_and(|status| status.code() == Code::AlreadyExists)));
}
