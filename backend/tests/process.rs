//! processOrders over native gRPC: full duplex, batching by destination.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backend::Config;
use backend::processing::BatchSize;
use common::{TestServer, order_101, shipped, spawn, spawn_with, summary};
use futures::StreamExt;
use ordermgt_proto::CombinedShipment;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

/// A processOrders call whose ids are sent one by one through the returned sender.
async fn open(server: &TestServer) -> (mpsc::Sender<String>, Streaming<CombinedShipment>) {
    let (ids, outgoing) = mpsc::channel(16);
    let shipments = server.client().await.process_orders(ReceiverStream::new(outgoing)).await.expect("open");
    (ids, shipments.into_inner())
}

async fn next(shipments: &mut Streaming<CombinedShipment>) -> CombinedShipment {
    shipments.message().await.expect("read").expect("a message before the end")
}

#[tokio::test]
async fn the_books_flow_ships_each_batch_as_it_fills_and_the_rest_on_close() {
    let server = spawn().await;
    server.client().await.add_order(order_101()).await.expect("add 101");
    let (ids, mut shipments) = open(&server).await;
    for id in ["102", "103", "104"] {
        ids.send(id.into()).await.expect("send");
    }
    // Both shipments of the first batch arrive while 101 is still unsent.
    let first = next(&mut shipments).await;
    let second = next(&mut shipments).await;
    assert_eq!(summary(&first), shipped("Mountain View, CA", &["102", "104"]));
    assert_eq!(summary(&second), shipped("San Jose, CA", &["103"]));
    for shipment in [&first, &second] {
        assert_eq!(shipment.status, "Processed");
        assert!(shipment.id.starts_with("cmb-"), "{}", shipment.id);
    }
    assert_ne!(first.id, second.id);
    assert_eq!(first.orders_list[0].items, ["Google Pixel 3A", "Mac Book Pro"]);

    ids.send("101".into()).await.expect("send 101");
    drop(ids); // half-close
    assert_eq!(summary(&next(&mut shipments).await), shipped("San Jose, CA", &["101"]));
    assert!(shipments.message().await.expect("clean end").is_none());
}

#[tokio::test]
async fn unknown_and_empty_ids_are_answered_in_the_stream_and_do_not_count() {
    let server = spawn().await;
    let (ids, mut shipments) = open(&server).await;
    for id in ["102", "999", "", "102", "103"] {
        ids.send(id.into()).await.expect("send");
    }
    let notices: Vec<_> = [next(&mut shipments).await, next(&mut shipments).await, next(&mut shipments).await]
        .into_iter()
        .map(|notice| {
            assert!(notice.is_rejection() && notice.orders_list.is_empty() && notice.id.is_empty(), "{notice:?}");
            (notice.rejected_id, notice.reason)
        })
        .collect();
    assert_eq!(
        notices,
        [
            ("999".to_string(), "order 999 not found".to_string()),
            (String::new(), "empty order id".to_string()),
            ("102".to_string(), "order 102 is already in the pending batch".to_string()),
        ]
    );
    // 102 and 103 are pending; 104 fills the batch: the rejections did not count.
    ids.send("104".into()).await.expect("send");
    assert_eq!(summary(&next(&mut shipments).await), shipped("Mountain View, CA", &["102", "104"]));
    assert_eq!(summary(&next(&mut shipments).await), shipped("San Jose, CA", &["103"]));
    drop(ids);
    assert!(shipments.message().await.expect("clean end").is_none());
}

#[tokio::test]
async fn the_batch_size_is_configurable() {
    let server = spawn_with(Config { batch_size: BatchSize::new(1).expect("size"), ..Config::default() }).await;
    let (ids, mut shipments) = open(&server).await;
    ids.send("105".into()).await.expect("send");
    assert_eq!(summary(&next(&mut shipments).await), shipped("San Jose, CA", &["105"]));
}

#[tokio::test]
async fn closing_at_once_ends_the_call_cleanly_with_nothing_shipped() {
    let server = spawn().await;
    let (ids, mut shipments) = open(&server).await;
    drop(ids);
    assert!(shipments.message().await.expect("clean end").is_none());
}

#[tokio::test]
async fn many_concurrent_streams_each_get_every_accepted_order_exactly_once() {
    let server = spawn().await;
    let client = server.client().await;
    let book = ["102", "103", "104", "105", "106"];
    let calls = (0..64).map(|stream| {
        let mut client = client.clone();
        // Each stream sends the orders in its own rotation, with a rejected id mixed in.
        let sent: Vec<String> = (0..4)
            .flat_map(|round| (0..book.len()).map(move |i| book[(stream + round + i) % book.len()].to_string()))
            .chain(["nope".to_string()])
            .collect();
        tokio::spawn(async move {
            let mut shipments = client.process_orders(futures::stream::iter(sent)).await.expect("open").into_inner();
            let (mut orders, mut rejected, mut shipment_ids) = (HashMap::<String, usize>::new(), 0, Vec::new());
            while let Some(shipment) = shipments.message().await.expect("read") {
                if shipment.is_rejection() {
                    rejected += 1;
                    continue;
                }
                shipment_ids.push(shipment.id);
                for order in shipment.orders_list {
                    *orders.entry(order.id).or_default() += 1;
                }
            }
            (orders, rejected, shipment_ids)
        })
    });
    let mut all_shipment_ids = std::collections::HashSet::new();
    for call in calls {
        let (orders, rejected, shipment_ids) = call.await.expect("stream task");
        assert_eq!(rejected, 1);
        assert_eq!(orders, book.iter().map(|id| (id.to_string(), 4)).collect());
        for id in shipment_ids {
            assert!(all_shipment_ids.insert(id.clone()), "shipment id {id} issued twice");
        }
    }
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn a_client_that_disappears_ends_its_server_stream() {
    let server = spawn().await;
    let url = server.url();
    let (opened, stream_is_open) = std::sync::mpsc::channel();
    let (vanish, told_to_vanish) = std::sync::mpsc::channel::<()>();
    // The client runs on a runtime of its own: dropping that runtime drops its
    // connection mid-call, as a client process that dies would.
    let client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("client runtime");
        let (ids, shipments) = runtime.block_on(async {
            let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
            let mut client = ordermgt_proto::order_management_client::OrderManagementClient::new(channel);
            let (ids, outgoing) = mpsc::channel(16);
            let mut shipments = client.process_orders(ReceiverStream::new(outgoing)).await.expect("open").into_inner();
            ids.send("102".to_string()).await.expect("send");
            ids.send("999".to_string()).await.expect("send");
            next(&mut shipments).await; // the rejection: the server is surely running the call
            (ids, shipments)
        });
        opened.send(()).expect("tell");
        told_to_vanish.recv().expect("wait");
        drop(runtime);
        drop((ids, shipments));
    });
    tokio::task::spawn_blocking(move || stream_is_open.recv()).await.expect("join").expect("opened");
    assert_eq!(server.app.open_process_streams(), 1);
    vanish.send(()).expect("vanish");
    server.wait_for_open_streams(0).await;
    client.join().expect("client thread");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_held_back_not_buffered() {
    const SENT: usize = 1_000_000;
    // The server's flow-control window on a stream: what a client may send unread.
    const WINDOW: usize = 1024 * 1024;
    // Flow control is the transport's business, whatever keeps the orders: the
    // in-memory store keeps a million lookups quick in a debug build. The
    // connection may hold little more than a window: a server that read ahead
    // into a queue of its own, crediting the client as it went, would be caught
    // by that limit and fail the call (RESOURCE_EXHAUSTED).
    let mut config = Config::default();
    config.limits.max_held_bytes_per_connection = Some(WINDOW + WINDOW / 4);
    let server = common::spawn_app(backend::App::in_memory(&config)).await;
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&produced);
    let ids = futures::stream::iter(0..SENT).map(move |n| {
        counter.fetch_add(1, Ordering::Relaxed);
        ["102", "103", "104"][n % 3].to_string()
    });
    let mut shipments = server.client().await.process_orders(ids).await.expect("open").into_inner();

    // Without reading, wait for the server to hold half a window of ids unread:
    // it has stopped taking them, and flow control stops the client within half
    // a window more. (A server that went on taking ids into a queue of its own
    // faster than they came would never get there; one that did so more slowly
    // is caught by memory_bound.rs, whose unread streams would grow without end.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let held = server.metric_value("ordermgt_held_bytes");
        if held >= (WINDOW / 2) as f64 {
            break;
        }
        let taken = produced.load(Ordering::Relaxed);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server held {held} bytes unread, not half a window, after the client sent {taken} ids"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last = produced.load(Ordering::Relaxed);
    assert!(last < SENT / 2, "the server took {last} of {SENT} ids from a client that read nothing");
    assert_eq!(server.app.open_process_streams(), 1);

    // Reading again resumes the flow: every id is shipped exactly once.
    let mut orders = 0;
    while let Some(shipment) = shipments.message().await.expect("read") {
        orders += shipment.orders_list.len();
    }
    assert_eq!(orders, SENT);
}

#[tokio::test]
async fn shutdown_ships_the_partial_batch_and_ends_the_stream_cleanly() {
    let mut server = spawn().await;
    let (ids, mut shipments) = open(&server).await;
    for id in ["102", "103", "999"] {
        ids.send(id.into()).await.expect("send");
    }
    assert!(next(&mut shipments).await.is_rejection(), "999 answered: 102 and 103 are in the batch");
    server.shut_down();
    assert_eq!(summary(&next(&mut shipments).await), shipped("Mountain View, CA", &["102"]));
    assert_eq!(summary(&next(&mut shipments).await), shipped("San Jose, CA", &["103"]));
    assert!(shipments.message().await.expect("a clean end, status OK").is_none());
    drop(ids);
}
