//! A client that cancels a call (RST_STREAM CANCEL, as every gRPC client
//! sends when it cancels or its deadline passes) has not half-closed it: an
//! update cancelled midway stores nothing, processing does not ship the
//! partial batch to no one, and the call is counted Canceled, not OK.

mod common;

use bytes::Bytes;
use common::TestServer;
use ordermgt_proto::Order;
use prost::Message;

fn frame(message: &impl Message) -> Bytes {
    grpc_ws::grpc_frame(&message.encode_to_vec())
}

/// Opens `path` on a raw HTTP/2 connection, sends `messages` without ending
/// the stream, then resets it with CANCEL.
async fn send_then_cancel(server: &TestServer, path: &str, messages: Vec<Bytes>) {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let (mut client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2");
    tokio::spawn(connection);
    let (_answer, mut stream) =
        client.send_request(common::grpc_request(server.addr, path), false).expect("open the stream");
    for message in messages {
        stream.reserve_capacity(message.len());
        stream.send_data(message, false).expect("send");
    }
    // Midway: the server has begun the call (and has the messages: DATA
    // comes before RST_STREAM on one connection).
    let method = path.rsplit('/').next().expect("a method");
    server.wait_for_started(method).await;
    stream.send_reset(h2::Reason::CANCEL);
    server.wait_for_handled(method, "Canceled").await;
    drop(client); // the connection stays up until then: the cancellation is the stream's alone
}

#[tokio::test]
async fn an_update_cancelled_midway_changes_nothing_and_is_counted_canceled() {
    let server = common::spawn().await;
    let changed = Order { description: "changed by an update that was then cancelled".into(), ..common::order_101() };
    let changed_102 = Order { id: "102".into(), ..changed };
    send_then_cancel(&server, "/ecommerce.OrderManagement/updateOrders", vec![frame(&changed_102)]).await;
    let kept = server.client().await.get_order("102".to_string()).await.expect("102").into_inner();
    assert_ne!(kept.description, changed_102.description, "a cancelled update was stored");
    assert_eq!(server.handled("updateOrders", "OK"), 0);
}

#[tokio::test]
async fn processing_cancelled_midway_ships_nothing_and_is_counted_canceled() {
    let server = common::spawn().await;
    let ids = ["102", "103"].map(|id| frame(&id.to_string())).to_vec();
    send_then_cancel(&server, "/ecommerce.OrderManagement/processOrders", ids).await;
    assert_eq!(server.handled("processOrders", "OK"), 0, "the cancelled stream was taken for a half-close");
    assert_eq!(server.metric_value("ordermgt_orders_shipped_total"), 0.0, "the partial batch was shipped to no one");
}
