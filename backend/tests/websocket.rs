//! gRPC over WebSocket against the real server, from a native WebSocket
//! client: every kind of call, errors, half-close, cancellation, flow control
//! and malformed frames in grpc-ws.v1; then what v2 changes (several frames a
//! message) and how the revision is agreed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use backend::auth::{WriteAccess, WriteToken};
use backend::store::{MemoryStore, sample_orders};
use backend::{App, Config};
use common::order_101;
use common::websocket::{WsCall, connect, connect_offering};
use grpc_ws::{Batch, Frame, Revision};
use ordermgt_proto::{CombinedShipment, Order};

const GET: &str = "/ecommerce.OrderManagement/getOrder";
const SEARCH: &str = "/ecommerce.OrderManagement/searchOrders";
const UPDATE: &str = "/ecommerce.OrderManagement/updateOrders";
const PROCESS: &str = "/ecommerce.OrderManagement/processOrders";
const ADD: &str = "/ecommerce.OrderManagement/addOrder";

fn ids(shipment: &CombinedShipment) -> Vec<&str> {
    shipment.orders_list.iter().map(|order| order.id.as_str()).collect()
}

#[tokio::test]
async fn a_unary_call_answers_headers_one_message_and_ok_trailers_then_closes_normally() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, GET, &[]).await;
    call.send(&"102".to_string()).await;
    call.half_close().await;
    let answer = call.answer().await;
    assert!(answer.headers.is_some(), "response headers come first");
    assert_eq!(answer.decode::<Order>()[0].destination, "Mountain View, CA");
    assert_eq!(answer.status(), Some("0"));
    assert_eq!(answer.close_code, Some(1000));
}

#[tokio::test]
async fn an_error_is_a_status_with_its_message() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, GET, &[]).await;
    call.send(&"999".to_string()).await;
    call.half_close().await;
    let answer = call.answer().await;
    assert!(answer.messages.is_empty());
    assert_eq!(answer.status(), Some("5"), "NOT_FOUND");
    assert_eq!(answer.message(), "order 999 not found");
}

#[tokio::test]
async fn a_server_stream_sends_every_match() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, SEARCH, &[]).await;
    call.send(&"".to_string()).await;
    call.half_close().await;
    let answer = call.answer().await;
    assert_eq!(answer.decode::<Order>().len(), sample_orders().len());
    assert_eq!(answer.status(), Some("0"));
}

#[tokio::test]
async fn a_client_stream_updates_two_orders_at_the_half_close() {
    let server = common::spawn().await;
    let mut client = server.client().await;
    let mut call = WsCall::open(server.addr, UPDATE, &[]).await;
    for (id, price) in [("102", 1.0), ("103", 2.0)] {
        let order = client.get_order(id.to_string()).await.expect("read").into_inner();
        call.send(&Order { price, ..order }).await;
    }
    call.half_close().await;
    let answer = call.answer().await;
    assert_eq!(answer.status(), Some("0"), "{}", answer.message());
    assert_eq!(client.get_order("102".to_string()).await.expect("read").into_inner().price, 1.0);
    assert_eq!(client.get_order("103".to_string()).await.expect("read").into_inner().price, 2.0);
}

#[tokio::test]
async fn the_books_bidi_flow_ships_each_batch_as_it_fills_and_the_rest_at_the_half_close() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
    assert!(matches!(call.next().await, Ok(Frame::Headers(_))), "response headers at once");
    for id in ["102", "103", "104"] {
        call.send(&id.to_string()).await;
    }
    let mut first_batch = Vec::new();
    for _ in 0..2 {
        let Ok(Frame::Message(message)) = call.next().await else { panic!("a shipment before the half-close") };
        first_batch.push(<CombinedShipment as prost::Message>::decode(message).expect("shipment"));
    }
    assert_eq!(ids(&first_batch[0]), ["102", "104"]);
    assert_eq!(ids(&first_batch[1]), ["103"]);
    call.send(&"105".to_string()).await;
    call.half_close().await;
    let rest = call.answer().await;
    let shipments = rest.decode::<CombinedShipment>();
    assert_eq!(shipments.len(), 1);
    assert_eq!(ids(&shipments[0]), ["105"]);
    assert_eq!(rest.status(), Some("0"));
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn closing_the_socket_cancels_the_call_at_once() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
    call.send(&"102".to_string()).await;
    server.wait_for_open_streams(1).await;
    call.socket.close(None).await.expect("close");
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn a_cancelled_client_stream_changes_nothing() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, UPDATE, &[]).await;
    call.send(&Order { price: 1.0, ..order_101() }).await;
    let mut client = server.client().await;
    let before = client.get_order("102".to_string()).await.expect("read").into_inner();
    call.send(&Order { price: 1.0, ..before.clone() }).await;
    drop(call); // no half-close: the socket just goes
    server.wait_for_handled("updateOrders", "Canceled").await;
    assert_eq!(client.get_order("102".to_string()).await.expect("read").into_inner(), before);
}

#[tokio::test]
async fn a_client_that_grants_nothing_gets_only_its_window() {
    let orders = (0..200)
        .map(|n| backend::order::Order::from(Order { id: format!("o{n}"), destination: "X".into(), ..order_101() }));
    let store = Arc::new(MemoryStore::with_orders(orders));
    let server = common::spawn_app(App::with_store(&Config::default(), store)).await;
    let mut call = WsCall::open(server.addr, SEARCH, &[]).await;
    call.send(&"".to_string()).await;
    call.half_close().await;
    let mut received = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(300), call.next()).await {
            Ok(Ok(Frame::Message(_))) => received += 1,
            Ok(Ok(Frame::Headers(_) | Frame::WindowUpdate(_))) => {}
            Ok(other) => panic!("the call went on past the window: {other:?}"),
            Err(_) => break, // the server waits for a window update
        }
    }
    assert_eq!(received, grpc_ws::INITIAL_WINDOW as usize);
    call.send_frame(Frame::WindowUpdate(1000)).await;
    let rest = call.answer().await;
    assert_eq!(received + rest.messages.len(), 200);
    assert_eq!(rest.status(), Some("0"));
}

#[tokio::test]
async fn malformed_frames_are_answered_with_an_error_and_the_socket_closed() {
    let server = common::spawn().await;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("a length that lies", vec![0, 0, 0, 0, 9, 1, 2], "payload is 9 bytes but it carries 2"),
        ("compression", vec![1, 0, 0, 0, 0], "unknown frame flags 0x01"),
        ("too short", vec![0, 0], "at least 5 bytes"),
        ("headers twice", Frame::Headers(http::HeaderMap::new()).encode(), "headers may only open a call"),
    ];
    for (case, bytes, expected) in cases {
        let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
        call.send(&"102".to_string()).await;
        call.send_raw(bytes).await;
        let answer = call.answer().await;
        assert_eq!(answer.status(), Some("13"), "{case}: INTERNAL");
        assert!(answer.message().contains(expected), "{case}: {}", answer.message());
        assert_eq!(answer.close_code, Some(1002), "{case}: closed as a protocol error");
    }
    server.wait_for_open_streams(0).await;
    let mut fine = WsCall::open(server.addr, GET, &[]).await;
    fine.send(&"102".to_string()).await;
    fine.half_close().await;
    assert_eq!(fine.answer().await.status(), Some("0"), "the server serves on");
}

#[tokio::test]
async fn a_message_before_the_call_headers_is_a_protocol_error() {
    let server = common::spawn().await;
    let socket = connect(server.addr, GET, &[]).await.expect("upgrade");
    let mut call = WsCall::on(socket, Revision::V1);
    call.send(&"102".to_string()).await;
    let answer = call.answer().await;
    assert_eq!(answer.status(), Some("13"));
    assert!(answer.message().contains("first frame of a call must be its headers"), "{}", answer.message());
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, "/ecommerce.Nope/nothing", &[]).await;
    call.half_close().await;
    assert_eq!(call.answer().await.status(), Some("12"));
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_a_listed_one_accepted() {
    let config = Config { cors_origins: vec!["http://shop.example".parse().expect("origin")], ..Config::default() };
    let server = common::spawn_with(config).await;
    let refused = connect(server.addr, GET, &[("origin", "http://evil.example")]).await.expect_err("refused");
    assert!(refused.contains("403"), "{refused}");
    connect(server.addr, GET, &[("origin", "http://shop.example")]).await.expect("a listed origin");
}

#[tokio::test]
async fn the_write_token_guards_writes_over_websocket_too() {
    let token = WriteToken::new("ws-token").expect("token");
    let server =
        common::spawn_app(common::app(Config::default()).await.with_write_access(WriteAccess::new(Some(token)))).await;
    let mut refused = WsCall::open(server.addr, ADD, &[]).await;
    refused.send(&order_101()).await;
    refused.half_close().await;
    assert_eq!(refused.answer().await.status(), Some("16"), "UNAUTHENTICATED");

    let mut allowed = WsCall::open(server.addr, ADD, &[("authorization", "Bearer ws-token")]).await;
    allowed.send(&order_101()).await;
    allowed.half_close().await;
    let answer = allowed.answer().await;
    assert_eq!(answer.status(), Some("0"), "{}", answer.message());
    assert_eq!(answer.decode::<String>(), ["101"]);
}

#[tokio::test]
async fn shutdown_flushes_an_open_websocket_stream_and_waits_for_it() {
    let mut server = common::spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
    call.send(&"102".to_string()).await;
    // An unknown id is answered at once; once its rejection is back, the
    // server has taken "102", sent before it, into the batch.
    call.send(&"no-such-order".to_string()).await;
    let rejection = loop {
        match tokio::time::timeout(Duration::from_secs(10), call.next()).await.expect("the rejection comes back") {
            Ok(Frame::Message(message)) => {
                break <CombinedShipment as prost::Message>::decode(message).expect("message");
            }
            Ok(_) => {}
            Err(code) => panic!("closed early: {code:?}"),
        }
    };
    assert_eq!(rejection.rejected_id, "no-such-order");
    server.shut_down();
    let answer = call.answer().await;
    let shipments = answer.decode::<CombinedShipment>();
    assert_eq!(shipments.iter().map(ids).collect::<Vec<_>>(), [["102"]]);
    assert_eq!(answer.status(), Some("0"));
}

#[tokio::test]
async fn a_client_sending_as_fast_as_its_credit_allows_gets_every_id_shipped() {
    // The book's flow, 3000 ids as fast as the server lets the client send
    // them, while it reads and grants: flow control both ways, no deadlock.
    const IDS: usize = 3000;
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
    let (mut sent, mut credit, mut read, mut orders) = (0, grpc_ws::INITIAL_WINDOW as usize, 0_u32, 0);
    loop {
        while credit > 0 && sent < IDS {
            call.send(&["102", "103", "104"][sent % 3].to_string()).await;
            (sent, credit) = (sent + 1, credit - 1);
            if sent == IDS {
                call.half_close().await;
            }
        }
        match tokio::time::timeout(Duration::from_secs(10), call.next()).await.expect("the call moves on") {
            Ok(Frame::WindowUpdate(more)) => credit += more as usize,
            Ok(Frame::Message(message)) => {
                orders += <CombinedShipment as prost::Message>::decode(message).expect("shipment").orders_list.len();
                read += 1;
                if read.is_multiple_of(32) {
                    call.send_frame(Frame::WindowUpdate(32)).await;
                }
            }
            Ok(Frame::Headers(headers)) if headers.contains_key("grpc-status") => {
                assert_eq!(headers["grpc-status"], "0");
                break;
            }
            Ok(_) => {}
            Err(code) => panic!("closed early: {code:?}"),
        }
    }
    assert_eq!((sent, orders), (IDS, IDS));
}

#[tokio::test]
async fn a_client_sending_small_ids_is_granted_a_window_of_a_mebibyte_of_them() {
    // As natively (1 MiB of stream window), not 64 messages however small:
    // the window is sized by bytes once half the initial one has been taken.
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
    for n in 0..grpc_ws::GRANT {
        call.send(&["102", "103", "104"][n as usize % 3].to_string()).await;
    }
    let granted = loop {
        match tokio::time::timeout(Duration::from_secs(10), call.next()).await.expect("a window update") {
            Ok(Frame::WindowUpdate(more)) => break more,
            Ok(_) => {}
            Err(code) => panic!("closed early: {code:?}"),
        }
    };
    // Each id is 10 bytes framed: "102" in a StringValue (5) behind its prefix (5).
    let in_flight = grpc_ws::INITIAL_WINDOW - grpc_ws::GRANT + granted;
    assert_eq!(in_flight, grpc_ws::WINDOW_BYTES / 10);
}

#[tokio::test]
async fn a_client_that_sends_past_its_credit_is_stopped_with_a_protocol_error() {
    let server = common::spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS, &[]).await;
    // Unknown ids: each is answered with a rejection, which this client never
    // makes room for, so the call stops taking ids once its 64 rejections wait.
    // The client spends its initial window; the server grants once, when the
    // call has taken half of it (the next grant would take half the new
    // window). The client then sends one id more than all that.
    let mut sent = 0;
    for _ in 0..grpc_ws::INITIAL_WINDOW {
        call.send(&format!("unknown-{sent}")).await;
        sent += 1;
    }
    let granted = loop {
        match tokio::time::timeout(Duration::from_secs(10), call.next()).await.expect("the server grants") {
            Ok(Frame::WindowUpdate(more)) => break more,
            Ok(_) => {}
            Err(code) => panic!("closed within the credit: {code:?}"),
        }
    };
    for _ in 0..=granted {
        call.send(&format!("unknown-{sent}")).await;
        sent += 1;
    }
    let answer = call.answer().await;
    assert_eq!(answer.status(), Some("13"));
    assert!(answer.message().contains("the client sent more messages than granted"), "{}", answer.message());
    assert_eq!(answer.close_code, Some(1002));
    server.wait_for_open_streams(0).await;
}

/// Calls over WebSocket past `--max-websocket-calls` (here 2) are answered
/// RESOURCE_EXHAUSTED naming the flag, and their sockets closed with 1013 (try
/// again later); once a call ends, the next is served.
#[tokio::test]
async fn websocket_calls_past_the_cap_are_refused_until_one_ends() {
    let mut config = Config::default();
    config.limits.max_websocket_calls = 2;
    let server = common::spawn_with(config).await;
    let path = "/ecommerce.OrderManagement/processOrders";
    let mut first = WsCall::open(server.addr, path, &[]).await;
    let _second = WsCall::open(server.addr, path, &[]).await;
    server.wait_for_open_streams(2).await;

    let mut refused = WsCall::open(server.addr, path, &[]).await;
    let answer = refused.answer().await;
    assert_eq!(answer.status(), Some("8"), "{answer:?}");
    assert!(answer.message().contains("--max-websocket-calls"), "{}", answer.message());
    assert!(answer.message().contains("2 WebSocket calls"), "{}", answer.message());
    assert_eq!(answer.close_code, Some(1013), "try again later");

    first.half_close().await;
    assert_eq!(first.answer().await.status(), Some("0"), "the first call ends");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = WsCall::open(server.addr, path, &[]).await;
        again.send(&"102".to_string()).await;
        again.half_close().await;
        let answer = again.answer().await;
        if answer.status() == Some("0") {
            assert_eq!(answer.messages.len(), 1, "102 shipped");
            break;
        }
        assert_eq!(answer.status(), Some("8"), "{answer:?}");
        assert!(tokio::time::Instant::now() < deadline, "no room for a call after one ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A store of `count` orders to one destination, for searches that stream many.
async fn spawn_with_orders(count: usize) -> common::TestServer {
    let orders = (0..count)
        .map(|n| backend::order::Order::from(Order { id: format!("o{n}"), destination: "X".into(), ..order_101() }));
    common::spawn_app(App::with_store(&Config::default(), Arc::new(MemoryStore::with_orders(orders)))).await
}

#[tokio::test]
async fn the_server_answers_in_the_newest_revision_offered() {
    let server = common::spawn().await;
    for (offer, expected) in [
        (&[Revision::V2, Revision::V1][..], Revision::V2),
        (&[Revision::V1, Revision::V2][..], Revision::V2),
        (&[Revision::V1][..], Revision::V1),
        (&[Revision::V2][..], Revision::V2),
    ] {
        let (_, chosen) = connect_offering(server.addr, GET, offer, &[]).await.expect("upgrade");
        assert_eq!(chosen, expected, "offering {offer:?}");
    }
    let metrics = server.app.metrics().encode();
    let counted = |revision: &str| {
        common::sample(&metrics, &format!("ordermgt_websocket_calls_total{{revision=\"{revision}\"}}"))
    };
    assert_eq!(
        (counted("grpc-ws.v2"), counted("grpc-ws.v1")),
        (Some(3.0), Some(1.0)),
        "each call counted by its revision"
    );
}

#[tokio::test]
async fn in_v2_the_frames_ready_at_once_share_websocket_messages_and_in_v1_never() {
    let server = spawn_with_orders(200).await;
    for revision in [Revision::V1, Revision::V2] {
        let mut call = WsCall::open_offering(server.addr, SEARCH, &[revision], &[]).await;
        assert_eq!(call.revision, revision);
        call.send(&"".to_string()).await;
        call.half_close().await;
        // The whole search granted at once: the server has many frames ready at a time.
        call.send_frame(Frame::WindowUpdate(1000)).await;
        let answer = call.answer().await;
        assert_eq!((answer.messages.len(), answer.status()), (200, Some("0")), "{revision:?}");
        let (frames, messages) = (answer.messages.len() + 2, call.messages_read); // headers and trailers besides
        match revision {
            // The client's reader checks that each v1 message is exactly one frame.
            Revision::V1 => assert_eq!(messages, frames),
            Revision::V2 => assert!(messages < frames, "{messages} messages for {frames} frames"),
        }
    }
}

#[tokio::test]
async fn in_v2_a_client_may_send_a_whole_call_in_one_message() {
    let server = common::spawn().await;
    let (socket, revision) = connect_offering(server.addr, PROCESS, &[Revision::V2], &[]).await.expect("upgrade");
    let mut call = WsCall::on(socket, revision);
    let mut batch = Batch::default();
    batch.push(&Frame::Headers(http::HeaderMap::new()).encode());
    for id in ["102", "103", "104", "105"] {
        batch.push(&Frame::Message(prost::Message::encode_to_vec(&id.to_string()).into()).encode());
    }
    batch.push(&Frame::EndOfStream.encode());
    call.send_raw(batch.take()).await;
    let answer = call.answer().await;
    assert_eq!(answer.status(), Some("0"), "{}", answer.message());
    let shipped: Vec<Vec<String>> = answer
        .decode::<CombinedShipment>()
        .iter()
        .map(|shipment| ids(shipment).into_iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(shipped, [vec!["102", "104"], vec!["103"], vec!["105"]]);
}

/// grpc-ws carries no compression: a client that says it accepts gzip, on a
/// server that compresses for such clients, gets its answer plain.
#[tokio::test]
async fn answers_over_websocket_are_never_compressed() {
    let server = common::spawn_with(Config { compress_responses: true, ..Config::default() }).await;
    let mut call = WsCall::open(server.addr, PROCESS, &[("grpc-accept-encoding", "gzip")]).await;
    for id in ["102", "103", "104"] {
        call.send(&id.to_string()).await;
    }
    call.half_close().await;
    let answer = call.answer().await;
    assert_eq!(answer.status(), Some("0"), "{}", answer.message());
    assert_eq!(answer.decode::<CombinedShipment>().len(), 2, "two destinations");
}

/// The server takes the frames of one WebSocket message together, but counts
/// each against the client's credit: 64 ids in one message are taken (and
/// each, unknown, rejected), a 65th in the same message is one more than granted.
#[tokio::test]
async fn in_v2_frames_past_the_credit_in_one_message_are_a_protocol_error() {
    let server = common::spawn().await;
    for (sent, within) in [(64, true), (65, false)] {
        let mut call = WsCall::open_offering(server.addr, PROCESS, &[Revision::V2], &[]).await;
        let mut batch = Batch::default();
        for n in 0..sent {
            let id = format!("unknown-{n}");
            batch.push(&Frame::Message(prost::Message::encode_to_vec(&id).into()).encode());
        }
        batch.push(&Frame::EndOfStream.encode());
        call.send_raw(batch.take()).await;
        let answer = tokio::time::timeout(Duration::from_secs(10), call.answer()).await.expect("the call ends");
        if within {
            assert_eq!(answer.status(), Some("0"), "{}", answer.message());
            assert_eq!(answer.decode::<CombinedShipment>().len(), 64, "each id rejected");
        } else {
            assert_eq!(answer.status(), Some("13"));
            assert!(answer.message().contains("the client sent more messages than granted"), "{}", answer.message());
            assert_eq!(answer.close_code, Some(1002));
        }
    }
}

#[tokio::test]
async fn in_v2_a_message_cut_inside_a_frame_is_a_protocol_error() {
    let server = common::spawn().await;
    let mut call = WsCall::open_offering(server.addr, PROCESS, &[Revision::V2], &[]).await;
    let mut cut = Frame::Message(prost::Message::encode_to_vec(&"102".to_string()).into()).encode();
    cut.extend_from_slice(&[0, 0, 0, 0, 9, 1]);
    call.send_raw(cut).await;
    let answer = call.answer().await;
    assert_eq!(answer.status(), Some("13"));
    assert!(answer.message().contains("ends inside a frame: 9 bytes declared, 1 left"), "{}", answer.message());
    assert_eq!(answer.close_code, Some(1002));
}
