//! searchOrders over native gRPC: a server stream.

mod common;

use common::{order_101, spawn};
use futures::TryStreamExt;
use ordermgt_proto::Order;

async fn search(server: &common::TestServer, query: &str) -> Vec<String> {
    let mut client = server.client().await;
    let found: Vec<Order> =
        client.search_orders(query.to_string()).await.expect("search").into_inner().try_collect().await.expect("read");
    found.into_iter().map(|order| order.id).collect()
}

#[tokio::test]
async fn search_streams_every_order_with_a_matching_item_in_id_order() {
    let server = spawn().await;
    server.client().await.add_order(order_101()).await.expect("add 101");
    assert_eq!(search(&server, "Google").await, ["102", "104"]);
    assert_eq!(search(&server, "Mac Book Pro").await, ["101", "102"]);
}

#[tokio::test]
async fn search_ignores_case() {
    let server = spawn().await;
    assert_eq!(search(&server, "aMAZON eCHO").await, ["105", "106"]);
}

#[tokio::test]
async fn an_empty_query_lists_every_order_and_a_miss_lists_none() {
    let server = spawn().await;
    assert_eq!(search(&server, "").await, ["102", "103", "104", "105", "106"]);
    assert!(search(&server, "no such item").await.is_empty());
}

#[tokio::test]
async fn a_large_result_streams_whole_in_id_order() {
    let server = spawn().await;
    let mut client = server.client().await;
    for n in 0..2_000 {
        let order = Order { id: format!("bulk-{n:05}"), items: vec!["Widget".into()], ..order_101() };
        client.add_order(order).await.expect("add");
    }
    let mut found = client.search_orders("widget".to_string()).await.expect("search").into_inner();
    let mut count = 0;
    while let Some(order) = found.message().await.expect("read") {
        assert_eq!(order.id, format!("bulk-{count:05}"));
        count += 1;
    }
    assert_eq!(count, 2_000);
}

#[tokio::test]
async fn a_search_stays_correct_while_orders_are_added() {
    let server = spawn().await;
    let mut client = server.client().await;
    for n in 0..1000 {
        let order = Order { id: format!("m-{n:04}"), items: vec!["Widget".into()], ..order_101() };
        client.add_order(order).await.expect("add");
    }
    let mut reader = server.client().await;
    let mut found = reader.search_orders("widget".to_string()).await.expect("search").into_inner();
    let mut seen = vec![found.message().await.expect("read").expect("first").id];
    // Orders added mid-search, before and after where it may have got to.
    for id in ["m-0000a", "m-0999z", "a-early", "z-late"] {
        client.add_order(Order { id: id.into(), items: vec!["Widget".into()], ..order_101() }).await.expect("add");
    }
    while let Some(order) = found.message().await.expect("read") {
        seen.push(order.id);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "each order once, in id order");
    for n in 0..1000 {
        assert!(seen.contains(&format!("m-{n:04}")), "m-{n:04}, there from the start, was streamed");
    }
    // Orders added meanwhile may or may not be streamed (the server reads ahead
    // of the client by up to its send buffer), but never twice, as checked above.
}

#[tokio::test]
async fn a_rare_item_among_many_orders_is_found_and_a_common_one_streams_whole() {
    let server = spawn().await;
    let mut client = server.client().await;
    for n in 0..1_500 {
        let items = if n % 500 == 7 { vec!["Widget".into(), "Ruby Lamp".into()] } else { vec!["Widget".into()] };
        client.add_order(Order { id: format!("o-{n:05}"), items, ..order_101() }).await.expect("add");
    }
    assert_eq!(search(&server, "ruby lamp").await, ["o-00007", "o-00507", "o-01007"]);
    assert_eq!(search(&server, "RUBY").await.len(), 3);
    assert_eq!(search(&server, "widget").await.len(), 1_500, "more than the index hands over at once");
    assert_eq!(search(&server, "wi").await.len(), 1_500, "too short for a trigram index");
}

#[tokio::test]
async fn queries_match_literally_whatever_characters_they_hold() {
    let server = spawn().await;
    let mut client = server.client().await;
    let items = [("q1", "50% off \"deal\""), ("q2", "Ärger_Box"), ("q3", "back\\slash"), ("q4", "5 off deal")];
    for (id, item) in items {
        client.add_order(Order { id: id.into(), items: vec![item.into()], ..order_101() }).await.expect("add");
    }
    assert_eq!(search(&server, "50% off \"").await, ["q1"]);
    assert_eq!(search(&server, "%").await, ["q1"]);
    assert_eq!(search(&server, "ärger_b").await, ["q2"]);
    assert_eq!(search(&server, "_").await, ["q2"]);
    assert_eq!(search(&server, "ÄRGER").await, ["q2"]);
    assert_eq!(search(&server, "k\\s").await, ["q3"]);
    assert_eq!(search(&server, "off deal").await, ["q4"]);
}

#[tokio::test]
async fn an_update_is_searched_as_it_is_now() {
    let server = spawn().await;
    let mut client = server.client().await;
    let mut changed = client.get_order("102".to_string()).await.expect("get").into_inner();
    changed.items = vec!["Teapot".into()];
    client.update_orders(futures::stream::iter([changed])).await.expect("update");
    assert_eq!(search(&server, "teapot").await, ["102"]);
    assert_eq!(search(&server, "google").await, ["104"], "102 no longer has a Google Pixel");
}
