//! With a write token set, changing orders needs it; reading never does.

mod common;

use backend::Config;
use backend::auth::{WriteAccess, WriteToken};
use common::grpc_web::{self, Encoding};
use common::{TestServer, order_101};
use ordermgt_proto::{Order, OrderList};
use tonic::Code;
use tonic::metadata::MetadataValue;

const TOKEN: &str = "correct-horse-battery-staple";

async fn guarded_server() -> TestServer {
    let token = WriteToken::new(TOKEN).expect("a valid token");
    common::spawn_app(common::app(Config::default()).await.with_write_access(WriteAccess::new(Some(token)))).await
}

fn with_bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("metadata");
    request.metadata_mut().insert("authorization", value);
    request
}

#[tokio::test]
async fn adding_an_order_without_the_token_is_unauthenticated_and_stores_nothing() {
    let server = guarded_server().await;
    let mut client = server.client().await;
    let refused = client.add_order(order_101()).await.expect_err("refused");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("addOrder changes orders and needs the write token"), "{}", refused.message());
    let wrong = client.add_order(with_bearer(order_101(), "guess")).await.expect_err("refused");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert!(wrong.message().contains("not the right one"), "{}", wrong.message());
    assert_eq!(client.get_order("101".to_string()).await.expect_err("not stored").code(), Code::NotFound);
}

#[tokio::test]
async fn with_the_token_writes_go_through() {
    let server = guarded_server().await;
    let mut client = server.client().await;
    let added = client.add_order(with_bearer(order_101(), TOKEN)).await.expect("added");
    assert_eq!(added.into_inner(), "101");

    let repriced = Order { price: 99.0, ..order_101() };
    let updates = futures::stream::iter([repriced]);
    client.update_orders(with_bearer(updates, TOKEN)).await.expect("updated");
    assert_eq!(client.get_order("101".to_string()).await.expect("read").into_inner().price, 99.0);
}

#[tokio::test]
async fn a_client_stream_without_the_token_changes_nothing() {
    let server = guarded_server().await;
    let mut client = server.client().await;
    let updates = futures::stream::iter([Order {
        price: 1.0,
        ..client.get_order("102".to_string()).await.expect("read").into_inner()
    }]);
    assert_eq!(client.update_orders(updates).await.expect_err("refused").code(), Code::Unauthenticated);
    assert_ne!(client.get_order("102".to_string()).await.expect("read").into_inner().price, 1.0);
}

#[tokio::test]
async fn reads_need_no_token() {
    let server = guarded_server().await;
    let mut client = server.client().await;
    assert_eq!(client.get_order("102".to_string()).await.expect("read").into_inner().id, "102");
    let mut found = client.search_orders("Google".to_string()).await.expect("search").into_inner();
    assert!(found.message().await.expect("read").is_some());
    let ids = futures::stream::iter(["102".to_string()]);
    let mut shipments = client.process_orders(ids).await.expect("processing reads").into_inner();
    assert_eq!(shipments.message().await.expect("read").expect("partial batch").orders_list.len(), 1);
}

#[tokio::test]
async fn the_pages_unary_update_needs_the_token_over_grpc_web() {
    let server = guarded_server().await;
    let uri = format!("{}/ecommerce.OrderManagementWeb/updateOrdersUnary", server.url());
    let orders = OrderList {
        orders: vec![Order {
            price: 5.0,
            ..server.client().await.get_order("103".to_string()).await.expect("read").into_inner()
        }],
    };

    let refused = grpc_web::send(grpc_web::request(&uri, Encoding::Text, &orders), false).await;
    assert_eq!(refused.grpc_status.as_deref(), Some("16"));
    assert!(refused.grpc_message.as_deref().unwrap_or_default().contains("updateOrdersUnary"), "{refused:?}");

    let mut request = grpc_web::request(&uri, Encoding::Text, &orders);
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().expect("header"));
    let accepted = grpc_web::send(request, false).await;
    assert_eq!(accepted.grpc_status.as_deref(), Some("0"), "{accepted:?}");
    assert_eq!(server.client().await.get_order("103".to_string()).await.expect("read").into_inner().price, 5.0);
}
