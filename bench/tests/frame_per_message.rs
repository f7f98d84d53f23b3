//! processOrders driven as grpc-go, grpcio and grpc-js drive it: each id in a
//! DATA frame of its own, a million of them, against the server as users run
//! it (its default SQLite store). The client is held back by flow control and
//! never disconnected, whether it reads its shipments as it sends or only
//! once the server's windows are full; every id comes back shipped.

use std::process::Command;

use backend::{App, Config};
use serde_json::Value;
use tokio::net::TcpListener;

const BENCH: &str = env!("CARGO_BIN_EXE_ordermgt-bench");
const IDS: &str = "1000000";

fn figure(rows: &[Value], scenario: &str, streams: &str, name: &str) -> f64 {
    let row = rows
        .iter()
        .find(|row| row["scenario"] == scenario && row["case"].as_str().is_some_and(|case| case.contains(streams)))
        .unwrap_or_else(|| panic!("no {scenario} row for {streams:?}: {rows:#?}"));
    row["figures"]
        .as_array()
        .and_then(|figures| figures.iter().find(|figure| figure["name"] == name))
        .and_then(|figure| figure["value"].as_f64())
        .unwrap_or_else(|| panic!("{scenario} has no {name}: {row:#?}"))
}

// Multi-threaded, so the server keeps serving while this thread waits for the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_ids_each_in_its_own_frame_are_all_shipped_and_no_connection_is_closed() {
    let data = std::env::temp_dir().join(format!("ordermgt-frames-{}", std::process::id()));
    let config = Config { data_dir: data.clone(), ..Config::default() };
    let app = App::open(&config).await.expect("open the default SQLite store");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let metrics = app.metrics().clone();
    tokio::spawn(backend::serve(listener, app, std::future::pending()));
    let json = data.join("frames.json");

    let bench = tokio::task::spawn_blocking({
        let (url, json) = (url.clone(), json.clone());
        move || {
            Command::new(BENCH)
                .args(["--server", &url, "--json"])
                .arg(&json)
                .args(["--streams", "1,64", "--total-ids", IDS, "bidi-frames", "bidi-send-first"])
                .output()
                .expect("run ordermgt-bench")
        }
    });
    let output = bench.await.expect("bench");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    let rows = report["medians"].as_array().expect("medians").clone();
    for scenario in ["bidi-frames", "bidi-send-first"] {
        for streams in ["streams=1 ", "streams=64 "] {
            let sent = figure(&rows, scenario, streams, "ids sent");
            assert_eq!(sent, 1_000_000.0, "{scenario} {streams}");
            assert_eq!(
                figure(&rows, scenario, streams, "orders shipped"),
                sent,
                "{scenario} {streams}: every id shipped"
            );
            assert_eq!(figure(&rows, scenario, streams, "streams failed"), 0.0, "{scenario} {streams}");
            assert_eq!(figure(&rows, scenario, streams, "connections closed by an error"), 0.0, "{scenario} {streams}");
        }
    }
    // The server closed no connection. (The client's own exit may reset its
    // sockets; those are the client's, counted with initiator="client".)
    let exposition = metrics.encode();
    let closed = exposition.lines().filter(|line| line.starts_with("ordermgt_connection_errors_total{"));
    let by_the_server: Vec<&str> = closed.filter(|line| line.contains(r#"initiator="server""#)).collect();
    assert!(by_the_server.is_empty(), "the server ended connections: {by_the_server:?}");
    let _ = std::fs::remove_dir_all(&data);
}
