//! gzip as gRPC clients use it: a request compressed with gzip is read,
//! natively and over gRPC-Web; a response is gzipped only when the server
//! is told to compress (`--compress-responses`) and the client accepts gzip;
//! and a small compressed message that would inflate past the message limit
//! is refused, RESOURCE_EXHAUSTED, with nothing stored.

mod common;

use std::io::Write;

use backend::Config;
use common::grpc_web::{Encoding, frame, raw_request, send};
use common::{TestServer, spawn, spawn_with};
use flate2::Compression;
use flate2::write::GzEncoder;
use ordermgt_proto::Order;
use ordermgt_proto::order_management_client::OrderManagementClient;
use prost::Message;
use tonic::codec::CompressionEncoding::Gzip;
use tonic::transport::Channel;

fn order(id: &str) -> Order {
    Order {
        id: id.into(),
        items: vec!["Zipped widget".into()],
        price: 3.5,
        destination: "Gzip, GZ".into(),
        ..Order::default()
    }
}

async fn gzip_client(server: &TestServer) -> OrderManagementClient<Channel> {
    server.client().await.send_compressed(Gzip).accept_compressed(Gzip)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    std::io::copy(&mut flate2::read::GzDecoder::new(bytes), &mut plain).expect("a gzip stream");
    plain
}

#[tokio::test]
async fn a_gzipped_request_is_read_and_responses_stay_plain_unless_the_server_compresses() {
    let server = spawn().await;
    let mut client = gzip_client(&server).await;
    client.add_order(order("gz-1")).await.expect("a gzipped addOrder is stored");
    let reply = client.get_order("gz-1".to_string()).await.expect("read back");
    assert_eq!(reply.metadata().get("grpc-encoding"), None, "no compressed responses by default");
    assert_eq!(reply.into_inner(), order("gz-1"));
}

#[tokio::test]
async fn a_compressing_server_gzips_for_clients_that_accept_it_and_only_for_them() {
    let server = spawn_with(Config { compress_responses: true, ..Config::default() }).await;
    let mut client = gzip_client(&server).await;
    let reply = client.get_order("102".to_string()).await.expect("get");
    assert_eq!(reply.metadata().get("grpc-encoding").map(|value| value.to_str().expect("ascii")), Some("gzip"));
    assert_eq!(reply.into_inner().id, "102");
    let mut found = client.search_orders(String::new()).await.expect("search").into_inner();
    let mut ids = Vec::new();
    while let Some(order) = found.message().await.expect("every gzipped order decodes") {
        ids.push(order.id);
    }
    assert_eq!(ids.len(), 5, "{ids:?}");

    let mut plain = server.client().await;
    let reply = plain.get_order("102".to_string()).await.expect("get");
    assert_eq!(reply.metadata().get("grpc-encoding"), None, "a client that accepts no gzip gets none");
}

#[tokio::test]
async fn grpc_web_reads_a_gzipped_request_and_gzips_the_answer_for_a_client_that_accepts_it() {
    let server = spawn_with(Config { compress_responses: true, ..Config::default() }).await;
    for http2 in [false, true] {
        let id = format!("gz-web-{http2}");
        let mut request = raw_request(
            &format!("{}/ecommerce.OrderManagement/addOrder", server.url()),
            Encoding::Binary,
            &frame(1, &gzip(&order(&id).encode_to_vec())),
        );
        request.headers_mut().insert("grpc-encoding", "gzip".parse().expect("header"));
        let added = send(request, http2).await;
        assert_eq!(added.grpc_status.as_deref(), Some("0"), "http2 {http2}: {added:?}");

        let mut request = raw_request(
            &format!("{}/ecommerce.OrderManagement/getOrder", server.url()),
            Encoding::Binary,
            &frame(0, &id.encode_to_vec()),
        );
        request.headers_mut().insert("grpc-accept-encoding", "gzip".parse().expect("header"));
        let answer = send(request, http2).await;
        assert_eq!(answer.grpc_status.as_deref(), Some("0"), "http2 {http2}: {answer:?}");
        assert_eq!(answer.headers.get("grpc-encoding").map(|value| value.as_bytes()), Some(&b"gzip"[..]));
        let read = Order::decode(gunzip(&answer.messages[0]).as_slice()).expect("an order");
        assert_eq!(read, order(&id), "http2 {http2}");
    }
}

#[tokio::test]
async fn a_small_message_that_would_inflate_past_the_limit_is_refused_and_nothing_is_stored() {
    let server = spawn().await;
    // 8 MiB of description (twice --max-message-bytes) in about 8 KiB of gzip.
    let bomb = Order { description: "z".repeat(8 << 20), ..order("gz-bomb") };
    let compressed = gzip(&bomb.encode_to_vec());
    assert!(compressed.len() < 64 * 1024, "{} bytes", compressed.len());
    let mut request = raw_request(
        &format!("{}/ecommerce.OrderManagement/addOrder", server.url()),
        Encoding::Binary,
        &frame(1, &compressed),
    );
    request.headers_mut().insert("grpc-encoding", "gzip".parse().expect("header"));
    let refused = send(request, true).await;
    assert_eq!(refused.grpc_status.as_deref(), Some("8"), "RESOURCE_EXHAUSTED: {refused:?}");
    assert!(refused.grpc_message.as_deref().unwrap_or_default().contains("decompressing"), "{refused:?}");
    let unknown = server.client().await.get_order("gz-bomb".to_string()).await.expect_err("nothing stored");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}
