//! The `ordermgt-server` binary as a user runs it: flags, environment twins, signals.

mod common;

use std::process::Command;

use common::binary::{SERVER, Server, start, terminate};
use ordermgt_proto::order_management_client::OrderManagementClient;

#[test]
fn help_lists_every_flag_with_its_environment_twin() {
    let output = Command::new(SERVER).arg("--help").output().expect("run --help");
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "--listen",
        "ORDERMGT_LISTEN",
        "127.0.0.1:50051",
        "--batch-size",
        "ORDERMGT_BATCH_SIZE",
        "--cors-origin",
        "ORDERMGT_CORS_ORIGIN",
        "--shutdown-grace",
        "ORDERMGT_SHUTDOWN_GRACE",
        "--log-format",
        "--max-message-bytes",
        "--max-concurrent-streams",
        "--max-pending-ids",
        "--request-timeout",
        "--idle-timeout",
        "--tls-cert",
        "--tls-key",
        "--write-token-file",
        "ORDERMGT_WRITE_TOKEN_FILE",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn a_batch_size_of_zero_is_refused_at_start() {
    let output = Command::new(SERVER).args(["--listen", "127.0.0.1:0", "--batch-size", "0"]).output().expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--batch-size") && stderr.contains("at least 1"), "{stderr}");
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let output = Command::new(SERVER).args(["--listen", &address]).output().expect("run");
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains(&format!("cannot listen on {address}")), "{log}");
}

// Multi-threaded, so the client's connection keeps being served while this thread waits for the server to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_takes_its_settings_from_the_environment() {
    let Server { mut child, url, .. } = start(&[], &[("ORDERMGT_BATCH_SIZE", "1")]);
    let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
    let mut client = OrderManagementClient::new(channel);
    assert_eq!(client.get_order("104".to_string()).await.expect("get").into_inner().id, "104");
    let ids = futures::stream::iter(["104".to_string()]);
    let mut shipments = client.process_orders(ids).await.expect("process").into_inner();
    let shipment = shipments.message().await.expect("read").expect("shipped");
    assert_eq!(shipment.orders_list.len(), 1, "a batch size of 1 ships each order on its own");
    assert!(terminate(&mut child).success(), "SIGTERM ends the server cleanly");
    drop((shipments, client));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_open_streams_and_exits_cleanly() {
    let Server { mut child, url, .. } = start(&["--shutdown-grace", "30s"], &[]);
    let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
    let mut client = OrderManagementClient::new(channel);
    let (ids, outgoing) = tokio::sync::mpsc::channel::<String>(8);
    let mut shipments =
        client.process_orders(tokio_stream::wrappers::ReceiverStream::new(outgoing)).await.expect("open").into_inner();
    for id in ["105", "999"] {
        ids.send(id.to_string()).await.expect("send");
    }
    let rejection = shipments.message().await.expect("read").expect("the rejection of 999");
    assert_eq!(rejection.rejected_id, "999");

    let exit = tokio::task::spawn_blocking(move || terminate(&mut child));
    let flushed = shipments.message().await.expect("read").expect("the partial batch");
    assert_eq!(flushed.orders_list.iter().map(|order| order.id.as_str()).collect::<Vec<_>>(), ["105"]);
    assert!(shipments.message().await.expect("a clean end, status OK").is_none());
    drop((ids, shipments, client));
    assert!(exit.await.expect("join").success(), "the server exits 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_period_what_is_still_open_is_cut() {
    let Server { mut child, url, log } = start(&["--shutdown-grace", "1s"], &[]);
    let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
    // A health watch never ends on its own: it holds the connection open through shutdown.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
    let mut watch = health.watch(request).await.expect("watch").into_inner();
    assert_eq!(watch.message().await.expect("read").expect("status").status, 1, "SERVING");

    let exit = tokio::task::spawn_blocking(move || terminate(&mut child));
    assert_eq!(watch.message().await.expect("read").expect("status").status, 2, "NOT_SERVING once shutting down");
    assert!(exit.await.expect("join").success(), "the server exits 0 after cutting the watch");
    log.wait_for_log(|line| line.contains("calls still open after the 1s grace period"));
    drop((watch, health));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_logged_once_as_json_with_method_peer_code_and_duration() {
    let mut server = start(&["--log-format", "json"], &[]);
    let channel =
        tonic::transport::Channel::from_shared(server.url.clone()).expect("url").connect().await.expect("connect");
    let mut client = OrderManagementClient::new(channel);
    client.get_order("nope".to_string()).await.expect_err("not found");
    let ids = futures::stream::iter((0..30).map(|n| ["102", "103", "104"][n % 3].to_string()));
    let mut shipments = client.process_orders(ids).await.expect("process").into_inner();
    while shipments.message().await.expect("read").is_some() {}

    let calls = |method: &str| {
        let log = server.log.lines();
        let lines: Vec<serde_json::Value> = log
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
            .filter(|line: &serde_json::Value| line["message"] == "call" && line["method"] == method)
            .collect();
        lines
    };
    server.log.wait_for_log(|line| line.contains("processOrders"));
    let get = calls("/ecommerce.OrderManagement/getOrder");
    assert_eq!(get.len(), 1, "{get:?}");
    assert_eq!(get[0]["code"], "NotFound");
    assert_eq!(get[0]["error"], "order nope not found");
    assert!(get[0]["peer"].as_str().expect("peer").starts_with("127.0.0.1:"), "{get:?}");
    assert!(get[0]["duration_ms"].as_f64().expect("duration") >= 0.0);
    let process = calls("/ecommerce.OrderManagement/processOrders");
    assert_eq!(process.len(), 1, "one line for the call, none for its 30 ids: {process:?}");
    assert_eq!(process[0]["code"], "OK");
    assert_eq!(process[0]["protocol"], "grpc");
    assert!(terminate(&mut server.child).success());
}

#[test]
fn listening_beyond_loopback_without_tls_or_a_write_token_warns() {
    let mut server = start(&["--listen", "0.0.0.0:0"], &[]);
    server.log.wait_for_log(|line| line.contains("without TLS"));
    server.log.wait_for_log(|line| line.contains("without a write token"));
    assert!(terminate(&mut server.child).success());

    let mut quiet = start(&[], &[]);
    assert!(terminate(&mut quiet.child).success());
    assert!(!quiet.log.lines().iter().any(|line| line.contains("WARN")), "{:?}", quiet.log.lines());
}

#[test]
fn unusable_certificate_and_token_files_are_clear_errors() {
    let missing = std::env::temp_dir().join(format!("ordermgt-missing-{}", std::process::id()));
    let missing = missing.to_str().expect("utf-8 path");
    for (args, expected) in [
        (vec!["--tls-cert", missing, "--tls-key", missing], "cannot read the TLS certificate"),
        (vec!["--write-token-file", missing], "cannot read the write token file"),
    ] {
        let output = Command::new(SERVER).args(["--listen", "127.0.0.1:0"]).args(&args).output().expect("run");
        assert!(!output.status.success(), "{args:?} is refused");
        let log = String::from_utf8_lossy(&output.stdout);
        assert!(log.contains(expected) && log.contains(missing), "{log}");
    }
}
