//! A client built from the book's own proto, without our extension fields,
//! works against us unchanged.

mod common;

use common::{order_101, spawn};
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

/// `ecommerce.Order` exactly as the book declares it.
#[derive(Clone, PartialEq, prost::Message)]
struct BookOrder {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, repeated, tag = "2")]
    items: Vec<String>,
    #[prost(string, tag = "3")]
    description: String,
    #[prost(float, tag = "4")]
    price: f32,
    #[prost(string, tag = "5")]
    destination: String,
}

/// `ecommerce.CombinedShipment` exactly as the book declares it.
#[derive(Clone, PartialEq, prost::Message)]
struct BookCombinedShipment {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    status: String,
    #[prost(message, repeated, tag = "3")]
    orders_list: Vec<BookOrder>,
}

/// `google.protobuf.StringValue`.
#[derive(Clone, PartialEq, prost::Message)]
struct StringValue {
    #[prost(string, tag = "1")]
    value: String,
}

fn id(value: &str) -> StringValue {
    StringValue { value: value.into() }
}

#[tokio::test]
async fn the_books_client_flow_works_with_the_books_messages() {
    let server = spawn().await;
    let channel = Channel::from_shared(server.url()).expect("url").connect().await.expect("connect");
    let mut grpc = Grpc::new(channel);
    let path = |method: &str| PathAndQuery::try_from(format!("/ecommerce.OrderManagement/{method}")).expect("path");

    let book_101 = order_101();
    let added: StringValue = {
        grpc.ready().await.expect("ready");
        let order = BookOrder {
            id: book_101.id,
            items: book_101.items,
            description: book_101.description,
            price: book_101.price,
            destination: book_101.destination,
        };
        let reply = grpc.unary(tonic::Request::new(order), path("addOrder"), ProstCodec::default()).await;
        reply.expect("addOrder").into_inner()
    };
    assert_eq!(added.value, "101");

    grpc.ready().await.expect("ready");
    let ids = futures::stream::iter(["102", "103", "104", "999", "101"].map(id));
    let response = grpc
        .streaming(
            tonic::Request::new(ids),
            path("processOrders"),
            ProstCodec::<StringValue, BookCombinedShipment>::default(),
        )
        .await
        .expect("processOrders");
    let mut shipments = response.into_inner();
    let mut seen = Vec::new();
    while let Some(shipment) = shipments.message().await.expect("read") {
        let ids: Vec<String> = shipment.orders_list.into_iter().map(|order| order.id).collect();
        seen.push((shipment.status, ids));
    }
    // The book's client sees the rejection of 999 as an empty shipment it can skip.
    let processed = |ids: &[&str]| ("Processed".to_string(), ids.iter().map(|id| id.to_string()).collect());
    assert_eq!(
        seen,
        [
            processed(&["102", "104"]),
            processed(&["103"]),
            ("Rejected".to_string(), Vec::<String>::new()),
            processed(&["101"]),
        ]
    );
}
