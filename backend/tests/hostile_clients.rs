//! Clients that attack rather than err: a page rebound to the server's address
//! (DNS rebinding), ids of megabytes, sockets that never speak, and grpc-ws
//! frames that used to panic the server. Each is refused with a status or an
//! HTTP answer that names the problem, within a bound, and the server goes on
//! serving everyone else.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::binary::{self, Running, megabyte_order, peak_mib};
use common::grpc_web::{Encoding, request, send};
use common::websocket::{Answer, WsCall, connect};
use common::{spawn, spawn_with};
use futures::StreamExt;
use grpc_ws::Frame;
use http::StatusCode;
use ordermgt_proto::Order;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;

const ADD_ORDER: &str = "/ecommerce.OrderManagement/addOrder";
const PROCESS_ORDERS: &str = "/ecommerce.OrderManagement/processOrders";

fn rebound_order() -> Order {
    Order {
        id: "rebound-1".into(),
        items: vec!["Stolen goods".into()],
        description: "stored by a page on another name".into(),
        price: 1.0,
        destination: "Nowhere".into(),
    }
}

/// A gRPC-Web addOrder as a page on `name` sends it once its DNS name points
/// at the server: its own name in `Host` and `Origin`.
fn rebound_add(addr: SocketAddr, name: &str) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut add = request(&format!("http://{addr}{ADD_ORDER}"), Encoding::Binary, &rebound_order());
    let host = format!("{name}:{}", addr.port());
    add.headers_mut().insert("host", host.parse().expect("host"));
    add.headers_mut().insert("origin", format!("http://{host}").parse().expect("origin"));
    add
}

#[tokio::test]
async fn a_page_on_a_rebound_name_is_refused_and_stores_nothing() {
    let server = spawn().await;
    // Over HTTP/1.1, where the name is in `Host` (HTTP/2's `:authority` is
    // checked the same way: see the unit tests of hosts.rs).
    {
        let refused = send(rebound_add(server.addr, "rebind.evil.example"), false).await;
        assert_eq!(refused.http_status, StatusCode::FORBIDDEN);
        assert_eq!(refused.grpc_status.as_deref(), Some("7"), "PERMISSION_DENIED");
        let message = refused.grpc_message.unwrap_or_default();
        assert!(
            message.contains("does not answer to the name rebind.evil.example")
                && message.contains("--allowed-host rebind.evil.example"),
            "{message}"
        );
    }
    let mut client = server.client().await;
    let lookup = client.get_order("rebound-1".to_string()).await.expect_err("nothing stored");
    assert_eq!(lookup.code(), Code::NotFound);

    // The page itself and a WebSocket call are refused the same way.
    let page = reqwest_like_get(server.addr, "rebind.evil.example").await;
    assert!(page.starts_with("HTTP/1.1 403"), "{page}");
    let origin = format!("http://rebind.evil.example:{}", server.addr.port());
    let host = format!("rebind.evil.example:{}", server.addr.port());
    let upgrade = connect(server.addr, PROCESS_ORDERS, &[("host", &host), ("origin", &origin)]).await;
    let Err(refusal) = upgrade else { panic!("a WebSocket opened for a rebound page") };
    assert!(refusal.contains("403"), "{refusal}");
}

#[tokio::test]
async fn a_name_given_with_allowed_host_and_any_address_are_answered() {
    let config =
        backend::Config { allowed_hosts: vec!["orders.example.com".parse().expect("host")], ..Default::default() };
    let server = spawn_with(config).await;
    for name in ["orders.example.com", "127.0.0.1", "localhost", "[::1]"] {
        let page = reqwest_like_get(server.addr, name).await;
        assert!(!page.starts_with("HTTP/1.1 403"), "{name}: {page}");
    }
}

/// `GET /` over HTTP/1.1 with `Host: name:port`; the response head.
async fn reqwest_like_get(addr: SocketAddr, name: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET / HTTP/1.1\r\nHost: {name}:{}\r\nConnection: close\r\n\r\n", addr.port());
    tcp.write_all(head.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn an_id_of_megabytes_is_invalid_argument_and_echoed_only_in_part() {
    let server = spawn().await;
    let mut client = server.client().await;
    let huge = "9".repeat(3 * 1024 * 1024 - 64);
    let refused = client.get_order(huge.clone()).await.expect_err("no order has such an id");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("id is 3145664 bytes long; the limit is 128"), "{}", refused.message());
    assert!(refused.message().len() < 512, "the message repeats {} bytes", refused.message().len());

    // Among ids being processed, it is rejected alone, cut short, and the stream goes on.
    let ids = ["102".to_string(), huge, "103".to_string(), "104".to_string()];
    let outbound = futures::stream::iter(ids);
    let mut replies = client.process_orders(outbound).await.expect("call").into_inner();
    let mut rejected = None;
    let mut shipped = 0;
    while let Some(reply) = replies.next().await {
        let reply = reply.expect("reply");
        if reply.status == ordermgt_proto::STATUS_REJECTED {
            rejected = Some(reply);
        } else {
            shipped += reply.orders_list.len();
        }
    }
    let rejected = rejected.expect("the huge id is rejected");
    assert!(rejected.rejected_id.len() < 256, "rejected_id repeats {} bytes", rejected.rejected_id.len());
    assert!(rejected.reason.len() < 512, "reason repeats {} bytes", rejected.reason.len());
    assert_eq!(shipped, 3, "the other ids are shipped");
}

#[test]
fn the_log_of_calls_with_huge_ids_stays_small() {
    let server = Running(binary::start(&[], &[]));
    let (url, log) = (server.0.url.clone(), server.0.log.clone());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
        let mut client = ordermgt_proto::order_management_client::OrderManagementClient::new(channel);
        for _ in 0..3 {
            let refused = client.get_order("x".repeat(3 * 1024 * 1024 - 64)).await.expect_err("refused");
            assert_eq!(refused.code(), Code::InvalidArgument);
        }
    });
    log.wait_for_log(|line| line.contains("getOrder") && line.contains("InvalidArgument"));
    let logged: usize = log.lines().iter().map(String::len).sum();
    assert!(logged < 16 * 1024, "3 calls with 3 MB ids logged {logged} bytes");
}

/// Opens a WebSocket with a raw HTTP/1.1 request whose target is `target`
/// (which a URL-based client cannot send), and starts a call on it.
async fn raw_websocket_call(addr: SocketAddr, target: &str) -> Result<WsCall, String> {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {}\r\n\r\n",
        grpc_ws::Revision::V1.subprotocol()
    );
    tcp.write_all(head.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if tcp.read(&mut byte).await.expect("read") == 0 {
            return Err(String::from_utf8_lossy(&response).into_owned());
        }
        response.push(byte[0]);
    }
    if !response.starts_with(b"HTTP/1.1 101") {
        return Err(String::from_utf8_lossy(&response).into_owned());
    }
    let socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    let mut call = WsCall::on(socket, grpc_ws::Revision::V1);
    call.send_frame(Frame::Headers(http::HeaderMap::new())).await;
    Ok(call)
}

#[tokio::test]
async fn a_websocket_call_to_an_authority_form_target_is_refused_not_a_panic() {
    let server = spawn().await;
    let target = server.addr.to_string();
    match raw_websocket_call(server.addr, &target).await {
        // Refused at the upgrade: an HTTP error, no call.
        Err(head) => assert!(head.starts_with("HTTP/1.1 4"), "{head}"),
        Ok(mut call) => {
            let answer: Answer = call.answer().await;
            assert_eq!(answer.status(), Some("12"), "UNIMPLEMENTED: {answer:?}");
            assert!(answer.message().contains("is not a method's path"), "{}", answer.message());
        }
    }
    let mut client = server.client().await;
    client.get_order("102".to_string()).await.expect("the server still serves");
}

#[tokio::test]
async fn window_updates_past_two_to_the_31_are_a_protocol_error_not_a_panic() {
    let server = spawn().await;
    let mut call = WsCall::open(server.addr, "/ecommerce.OrderManagement/searchOrders", &[]).await;
    for _ in 0..8 {
        call.send_frame(Frame::WindowUpdate(u32::MAX)).await;
    }
    // (Before the fix, tokio panicked on the overflow and the call hung.)
    let answer = tokio::time::timeout(Duration::from_secs(30), call.answer()).await.expect("the call ends");
    assert_eq!(answer.status(), Some("13"), "INTERNAL: {answer:?}");
    assert!(answer.message().contains("a window update past 2^31 - 1 messages"), "{}", answer.message());
    assert_eq!(answer.close_code, Some(1002));
    let mut client = server.client().await;
    client.get_order("102".to_string()).await.expect("the server still serves");
}

/// The descriptors `pid` holds open.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn silent_connections_past_the_cap_make_room_and_the_server_keeps_its_descriptors() {
    let server = Running(binary::start(&["--max-connections", "50"], &[]));
    let url = server.0.url.clone();
    let addr: SocketAddr = url.trim_start_matches("http://").parse().expect("address");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pid = server.0.child.id();
    runtime.block_on(async {
        let baseline = descriptors(pid);
        // 300 sockets that never send a byte, six times the cap.
        let mut silent = Vec::new();
        for _ in 0..300 {
            silent.push(TcpStream::connect(addr).await.expect("connect"));
        }
        // Each new one made room by closing the one silent longest.
        let channel =
            tonic::transport::Channel::from_shared(url.clone()).expect("url").connect().await.expect("connect");
        let mut client = ordermgt_proto::order_management_client::OrderManagementClient::new(channel);
        let order = client.get_order("102".to_string()).await.expect("a real client is served").into_inner();
        assert_eq!(order.id, "102");
        let held = descriptors(pid);
        eprintln!("descriptors: {baseline} before, {held} after 300 silent sockets");
        assert!(held <= baseline + 50 + 10, "{held} descriptors held (baseline {baseline}, cap 50)");
        let shed = common::metric(addr, "ordermgt_connections_shed_total").await;
        assert!(shed >= 250.0, "{shed} connections shed");
        drop(silent);
    });
}

/// Closed by the server's 10 s first-bytes timeout, not its 5 min idle timeout.
#[tokio::test]
async fn a_connection_that_never_speaks_is_closed_within_seconds() {
    let server = spawn().await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(30), silent.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "still open after 30 s: {read:?}");
}

#[test]
fn an_update_of_600_megabyte_orders_stops_at_its_byte_budget() {
    let server = Running(binary::start(&[], &[]));
    let (pid, url) = (server.0.child.id(), server.0.url.clone());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let refused = runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
        let mut client = ordermgt_proto::order_management_client::OrderManagementClient::new(channel)
            .max_encoding_message_size(8 * 1024 * 1024);
        let orders = futures::stream::iter(0..600).map(|n| megabyte_order(format!("heavy-{n}")));
        client.update_orders(orders).await.expect_err("600 MB is past the budget")
    });
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("at most 64 MiB of orders"), "{}", refused.message());
    let peak = peak_mib(pid);
    eprintln!("an_update_of_600_megabyte_orders_stops_at_its_byte_budget: the server peaked at {peak} MiB");
    assert!(peak < 300, "the server held {peak} MiB at its peak");
}

#[test]
fn a_websocket_call_that_does_not_read_holds_megabytes_not_the_whole_window() {
    let server = Running(binary::start(&[], &[]));
    let (pid, url) = (server.0.child.id(), server.0.url.clone());
    let addr: SocketAddr = url.trim_start_matches("http://").parse().expect("address");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // searchOrders takes one request message; the rest of a window of 3 MB
        // messages (about 190 MB per call, four calls) would wait unread.
        // (A call that reads its messages slowly cannot be made to leave
        // them unread: the server stops reading a socket it cannot write to.)
        let message = bytes::Bytes::from(prost::Message::encode_to_vec(&"q".repeat(3 * 1024 * 1024)));
        let calls = (0..4).map(|_| {
            let message = message.clone();
            async move {
                let mut call = WsCall::open(addr, "/ecommerce.OrderManagement/searchOrders", &[]).await;
                for _ in 0..(grpc_ws::INITIAL_WINDOW - 1) {
                    let frame = tokio_tungstenite::tungstenite::Message::Binary(
                        Frame::Message(message.clone()).encode().into(),
                    );
                    if futures::SinkExt::send(&mut call.socket, frame).await.is_err() {
                        break;
                    }
                }
                tokio::time::timeout(Duration::from_secs(30), call.answer()).await.expect("the call ends")
            }
        });
        // Refused by whichever bound the call meets first: the 8 MiB it may
        // hold unread (RESOURCE_EXHAUSTED), or the second message of a call
        // that takes one (INTERNAL).
        for answer in futures::future::join_all(calls).await {
            let refused = (answer.status(), answer.message());
            let read_ahead = refused.0 == Some("8") && refused.1.contains("has not read yet");
            let one_message = refused.0 == Some("13") && refused.1.contains("exactly one request message");
            assert!(read_ahead || one_message, "{answer:?}");
        }
    });
    let peak = peak_mib(pid);
    eprintln!(
        "a_websocket_call_that_does_not_read_holds_megabytes_not_the_whole_window: the server peaked at {peak} MiB"
    );
    assert!(peak < 300, "the server held {peak} MiB at its peak");
}

/// A call that pings in a burst past what it may, reading nothing: it ends
/// RESOURCE_EXHAUSTED naming the pings, and the socket closes 1008.
#[tokio::test]
async fn a_websocket_call_that_pings_past_its_allowance_ends_resource_exhausted() {
    use futures::SinkExt;
    let server = spawn().await;
    let mut call = WsCall::open(server.addr, PROCESS_ORDERS, &[]).await;
    for _ in 0..100 {
        let ping = tokio_tungstenite::tungstenite::Message::Ping(vec![0u8; 125].into());
        if call.socket.send(ping).await.is_err() {
            break;
        }
    }
    let answer: Answer =
        tokio::time::timeout(Duration::from_secs(30), call.answer()).await.expect("the server ends the call");
    assert_eq!(answer.status(), Some("8"), "{answer:?}");
    assert!(answer.message().contains("pings"), "{answer:?}");
    assert_eq!(answer.close_code, Some(1008), "{answer:?}");
}

/// 4 million pings whose pongs the client never reads (about 500 MB of
/// pongs): the server keeps at most its write buffer of them, or closes.
#[test]
fn a_ping_flood_from_a_client_that_never_reads_costs_the_server_no_memory() {
    let server = Running(binary::start(&[], &[]));
    let pid = server.0.child.id();
    let addr: SocketAddr = server.0.url.trim_start_matches("http://").parse().expect("address");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use futures::SinkExt;
        let mut socket = connect(addr, PROCESS_ORDERS, &[]).await.expect("upgrade");
        let ping = tokio_tungstenite::tungstenite::Message::Ping(vec![0u8; 125].into());
        // The server closes the socket once its pongs fill its write buffer,
        // or stops reading it while they cannot be written (the flood then
        // waits on the socket): either ends the flood.
        let flood = async {
            for sent in 1..=4_000_000 {
                if socket.feed(ping.clone()).await.is_err() || (sent % 1_000 == 0 && socket.flush().await.is_err()) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(30), flood).await;
        let channel = tonic::transport::Channel::from_shared(server.0.url.clone()).expect("url");
        let mut client = ordermgt_proto::order_management_client::OrderManagementClient::new(
            channel.connect().await.expect("connect"),
        );
        client.get_order("102".to_string()).await.expect("the server still serves");
    });
    let peak = peak_mib(pid);
    eprintln!(
        "a_ping_flood_from_a_client_that_never_reads_costs_the_server_no_memory: the server peaked at {peak} MiB"
    );
    assert!(peak < 300, "the server held {peak} MiB at its peak");
}

/// Calls past --max-calls, whichever connections they come on, are answered
/// at once with RESOURCE_EXHAUSTED naming the flag; once one ends, the next
/// is served.
#[tokio::test]
async fn calls_past_the_server_wide_cap_are_refused_until_one_ends() {
    let mut config = backend::config::Config::default();
    config.limits.max_calls = 4;
    let server = spawn_with(config).await;
    let mut streams = Vec::new();
    for _ in 0..4 {
        // A connection each: the cap is the server's, not one connection's.
        let mut client = server.client().await;
        let (ids, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let replies = client
            .process_orders(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
            .await
            .expect("an open call within the cap");
        streams.push((ids, replies));
    }
    server.wait_for_open_streams(4).await;
    let refused = server.client().await.get_order("102".to_string()).await.expect_err("a fifth call");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("--max-calls"), "{}", refused.message());
    assert!(refused.message().contains("4 calls"), "{}", refused.message());
    drop(streams.pop());
    let mut client = server.client().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_order("102".to_string()).await {
            Ok(order) => break assert_eq!(order.into_inner().id, "102"),
            Err(status) if status.code() == Code::ResourceExhausted && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("not served once a call ended: {status:?}"),
        }
    }
}

/// A processing stream whose client sends ids and reads none: its unread ids
/// and queued replies count against the server's budget (here 256 KiB), and
/// past it the stream fails with RESOURCE_EXHAUSTED, while a call on the
/// same connection is still answered.
#[tokio::test]
async fn unread_request_data_and_unread_replies_count_against_the_budget() {
    let mut config = backend::config::Config::default();
    config.limits.max_held_bytes = 256 * 1024;
    let server = spawn_with(config).await;
    let mut client = server.client().await;
    let ids = futures::stream::iter((0..40_000).map(|n| format!("{n:0>120}")));
    let mut replies = client.process_orders(ids).await.expect("the call opens").into_inner();
    // The ids pile up unread behind replies the client does not read.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while common::metric(server.addr, "ordermgt_held_bytes_refused_total").await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "the budget refused no one in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let other = client.get_order("102".to_string()).await.expect("another call on the connection is answered");
    assert_eq!(other.into_inner().id, "102");
    let ended = loop {
        match replies.message().await {
            Ok(Some(_rejection)) => {}
            Ok(None) => panic!("the stream ended without an error"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), Code::ResourceExhausted, "{ended:?}");
}

/// A WebSocket call whose client grants window for a thousand replies and
/// reads none: what waits for its socket counts against the server's budget
/// (here 8 MiB), and past it the call ends RESOURCE_EXHAUSTED naming the flag.
#[tokio::test]
async fn websocket_replies_queued_for_a_client_that_does_not_read_count_against_the_budget() {
    let mut config = backend::config::Config::default();
    config.limits.max_held_bytes = 8 * 1024 * 1024;
    let server = spawn_with(config).await;
    let mut client = server.client().await;
    for n in 0..200 {
        let order = Order { id: format!("wide-{n:03}"), items: vec!["w".repeat(1000); 200], ..common::order_101() };
        client.add_order(order).await.expect("add a 200 KB order");
    }
    let mut call = WsCall::open(server.addr, "/ecommerce.OrderManagement/searchOrders", &[]).await;
    call.send(&"w".to_string()).await;
    call.half_close().await;
    call.send_frame(Frame::WindowUpdate(1000)).await;
    // The replies pile up unread until the budget refuses more.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while common::metric(server.addr, "ordermgt_held_bytes_refused_total").await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "the budget refused no one in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = tokio::time::timeout(Duration::from_secs(30), call.answer()).await.expect("the call ends");
    assert_eq!(answer.status(), Some("8"), "{answer:?}");
    assert!(answer.message().contains("--max-held-bytes"), "{}", answer.message());
    assert!(answer.messages.len() < 200, "the search stopped short: {} orders", answer.messages.len());
}

/// An order of about 250 KB, under every per-order limit.
fn quarter_megabyte_order(id: String) -> Order {
    Order { id, items: vec!["q".repeat(1000); 250], ..common::order_101() }
}

/// One connection may hold only its share of the server's budget (here 4 of
/// 8 MiB): a client that tries to gather more on one connection is refused
/// RESOURCE_EXHAUSTED naming `--max-held-bytes-per-connection`, and another
/// client's update of megabytes, which the whole budget has room for, goes
/// through while the first still holds its share.
#[tokio::test]
async fn one_connection_holds_only_its_share_and_leaves_the_rest_to_other_clients() {
    let mut config = backend::config::Config::default();
    config.limits.max_held_bytes = 8 << 20;
    config.limits.max_held_bytes_per_connection = Some(4 << 20);
    let server = spawn_with(config).await;
    let greedy = server.client().await;

    // About 3 MB gathered by an update its client never ends: held.
    let (first, gathered) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..12 {
        first.send(quarter_megabyte_order(format!("greedy-{n}"))).expect("queued");
    }
    let holding = tokio::spawn({
        let mut client = greedy.clone();
        async move { client.update_orders(tokio_stream::wrappers::UnboundedReceiverStream::new(gathered)).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while common::metric(server.addr, "ordermgt_held_bytes").await < 2.9e6 {
        assert!(tokio::time::Instant::now() < deadline, "the first update was never held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Five more megabytes on the same connection, in an update also left open.
    let (second, more) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..20 {
        second.send(quarter_megabyte_order(format!("greedier-{n}"))).expect("queued");
    }
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        greedy.clone().update_orders(tokio_stream::wrappers::UnboundedReceiverStream::new(more)),
    )
    .await
    .expect("the second update is answered while its client keeps it open")
    .expect_err("past the connection's share");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("--max-held-bytes-per-connection"), "{}", refused.message());
    assert!(refused.message().contains("4 MiB"), "{}", refused.message());
    let held = common::metric(server.addr, "ordermgt_held_bytes").await;
    assert!(held <= f64::from(4u32 << 20), "the connection holds {held} bytes, past its share");

    // Another client's 3.5 MB update: room for it in the whole, none if the first had taken it all.
    let mut other = server.client().await;
    let mut ids = Vec::new();
    for n in 0..14 {
        let id = format!("other-{n}");
        other.add_order(Order { id: id.clone(), ..common::order_101() }).await.expect("add");
        ids.push(id);
    }
    let updates = futures::stream::iter(ids.clone().into_iter().map(quarter_megabyte_order));
    other.update_orders(updates).await.expect("another client's update goes through");
    let stored = other.get_order(ids[13].clone()).await.expect("read back").into_inner();
    assert_eq!(stored.items.len(), 250, "the update was stored whole");

    assert!(!holding.is_finished(), "the first update is still open and held");
    drop(first);
    let unknown = holding.await.expect("task").expect_err("its orders were never added");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    drop(second);
}
