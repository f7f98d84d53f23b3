//! The `ordermgt-server` binary as a user runs it: flags, environment twins, signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use ordermgt_proto::order_management_client::OrderManagementClient;

const SERVER: &str = env!("CARGO_BIN_EXE_ordermgt-server");

/// Starts the binary on an ephemeral port; returns it and its URL, read from its log.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(SERVER)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("the server logs where it listens").expect("read log");
        if let Some((_, rest)) = line.split_once("listening on ") {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    child.wait().expect("wait")
}

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
    let (mut child, url) = start(&[], &[("ORDERMGT_BATCH_SIZE", "1")]);
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
    let (mut child, url) = start(&[], &[]);
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
