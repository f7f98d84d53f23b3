//! Every scenario, run for a moment against the real server: sane, non-zero
//! figures and the right totals. No timing is asserted.

use std::process::Command;

use backend::{App, Config};
use serde_json::Value;
use tokio::net::TcpListener;

const BENCH: &str = env!("CARGO_BIN_EXE_ordermgt-bench");

fn figure(rows: &[Value], scenario: &str, case_contains: &str, name: &str) -> f64 {
    let row = rows
        .iter()
        .find(|row| {
            row["scenario"] == scenario && row["case"].as_str().is_some_and(|case| case.contains(case_contains))
        })
        .unwrap_or_else(|| panic!("no {scenario} row for {case_contains:?}: {rows:#?}"));
    let figures = row["figures"].as_array().expect("figures");
    figures
        .iter()
        .find(|figure| figure["name"] == name)
        .and_then(|figure| figure["value"].as_f64())
        .unwrap_or_else(|| panic!("{scenario} has no {name}: {row:#?}"))
}

// Multi-threaded, so the server keeps serving while this thread waits for the benchmark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scenario_reports_sane_figures_and_right_totals() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(backend::serve(listener, App::in_memory(&Config::default()), std::future::pending()));
    let json = std::env::temp_dir().join(format!("ordermgt-bench-smoke-{}.json", std::process::id()));

    let output = Command::new(BENCH)
        .args(["--server", &url, "--json"])
        .arg(&json)
        .args(["--server-pid", &std::process::id().to_string()])
        .args(["--streams", "1,8", "--total-ids", "3000", "--seconds", "0.3"])
        .args(["--search-orders", "300", "--idle-streams", "50"])
        .output()
        .expect("run ordermgt-bench");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("| scenario | case | figures |"), "{table}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    let rows = report["medians"].as_array().expect("medians").clone();

    for (scenario, streams) in [("bidi-frames", "streams=1 "), ("bidi-send-first", "streams=8 ")] {
        let sent = figure(&rows, scenario, streams, "ids sent");
        assert_eq!(sent, 3000.0, "{scenario}");
        assert_eq!(figure(&rows, scenario, streams, "orders shipped"), sent, "{scenario}: every id shipped once");
        assert_eq!(figure(&rows, scenario, streams, "streams failed"), 0.0, "{scenario}");
    }
    for streams in ["streams=1 ", "streams=8 "] {
        let sent = figure(&rows, "bidi", streams, "ids sent");
        assert_eq!(sent, 3000.0);
        assert_eq!(figure(&rows, "bidi", streams, "orders shipped"), sent, "every id shipped exactly once");
        assert_eq!(figure(&rows, "bidi", streams, "rejections"), 0.0);
        assert!(figure(&rows, "bidi", streams, "ids/s") > 0.0);
        assert!(figure(&rows, "bidi", streams, "shipments/s") > 0.0);
        let (p50, max) =
            (figure(&rows, "bidi", streams, "batch latency p50"), figure(&rows, "bidi", streams, "batch latency max"));
        assert!(p50 > 0.0 && p50 <= max, "p50 {p50} max {max}");
    }
    // processOrders over grpc-ws.v2, one WebSocket per call, beside the native streams.
    for calls in ["calls=1 ", "calls=8 "] {
        let sent = figure(&rows, "websocket", calls, "ids sent");
        assert_eq!(sent, 3000.0);
        assert_eq!(figure(&rows, "websocket", calls, "orders shipped"), sent, "every id shipped exactly once");
        assert_eq!(figure(&rows, "websocket", calls, "rejections"), 0.0);
        assert!(figure(&rows, "websocket", calls, "ids/s") > 0.0);
        assert!(figure(&rows, "websocket", calls, "shipments/s") > 0.0);
        let (p50, max) = (
            figure(&rows, "websocket", calls, "batch latency p50"),
            figure(&rows, "websocket", calls, "batch latency max"),
        );
        assert!(p50 > 0.0 && p50 <= max, "p50 {p50} max {max}");
    }
    for streams in ["streams=1:", "streams=8:"] {
        let native = figure(&rows, "websocket vs bidi", streams, "native ids/s");
        let websocket = figure(&rows, "websocket vs bidi", streams, "websocket ids/s");
        assert_eq!(native, figure(&rows, "bidi", &streams.replace(':', " "), "ids/s"));
        assert_eq!(
            websocket,
            figure(&rows, "websocket", &streams.replace("streams", "calls").replace(':', " "), "ids/s")
        );
        assert!(native > 0.0 && websocket > 0.0);
        let ratio = figure(&rows, "websocket vs bidi", streams, "websocket/native");
        assert!((ratio - websocket / native).abs() <= 1e-9 * ratio, "ratio {ratio}");
    }
    assert!(figure(&rows, "unary", "concurrency=32", "calls") > 0.0);
    assert!(figure(&rows, "unary", "concurrency=32", "calls/s") > 0.0);
    // The server is this process (--server-pid): what it spent per call is read from /proc.
    let cpu = figure(&rows, "unary", "concurrency=32", "server CPU per call");
    assert!(cpu > 0.0 && cpu.is_finite(), "server CPU per call: {cpu} µs");
    assert!(figure(&rows, "add", "addOrder concurrency=32", "calls") > 0.0, "each add a new order, none refused");
    for transport in ["native", "gRPC-Web"] {
        assert_eq!(figure(&rows, "search", transport, "orders streamed"), 300.0, "{transport}");
        assert!(figure(&rows, "search", transport, "orders/s") > 0.0);
    }
    assert_eq!(figure(&rows, "idle-streams", "streams=50", "streams held"), 50.0);
    assert!(figure(&rows, "idle-streams", "streams=50", "server RSS with streams") > 0.0);
    let _ = std::fs::remove_file(json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_side_by_side_are_compared_by_the_medians_of_their_rounds() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(backend::serve(listener, App::in_memory(&Config::default()), std::future::pending()));
    let json = std::env::temp_dir().join(format!("ordermgt-bench-compare-{}.json", std::process::id()));
    let output = Command::new(BENCH)
        .args(["--server", &format!("first={url}"), "--server", &format!("second={url}"), "--baseline", "first"])
        .args(["--rounds", "2", "--streams", "1", "--total-ids", "300", "--seconds", "0.2", "--json"])
        .arg(&json)
        .args(["unary", "bidi-frames"])
        .output()
        .expect("run ordermgt-bench");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("| scenario | case | figure | first | second | second / first |"), "{table}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    let comparison = report["comparison"].as_array().expect("comparison");
    assert_eq!(comparison.len(), 2, "{comparison:#?}");
    for case in comparison {
        let servers = case["servers"].as_array().expect("servers");
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0]["ratio"], 1.0, "the baseline against itself");
        assert_eq!(servers[1]["rounds"].as_array().map(Vec::len), Some(2), "two rounds each");
        assert!(servers[1]["ratio"].as_f64().is_some_and(|ratio| ratio > 0.0));
        let by_round = servers[1]["round_ratios"].as_array().expect("the ratio round by round");
        assert!(by_round.len() == 2 && by_round.iter().all(|ratio| ratio.as_f64().is_some_and(|r| r > 0.0)));
    }
    let _ = std::fs::remove_file(json);
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let output = Command::new(BENCH).args(["--server", "http://127.0.0.1:1", "unary"]).output().expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach http://127.0.0.1:1"), "{stderr}");
}
