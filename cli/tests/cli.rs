//! The `ordermgt` binary against a real server on an ephemeral port.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

use backend::{App, Config};
use ordermgt_proto::{CombinedShipment, Order};
use tokio::net::TcpListener;

const CLI: &str = env!("CARGO_BIN_EXE_ordermgt");

/// Starts a server with the book's orders and returns its URL; it lives as long as the test's runtime.
async fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(backend::serve(listener, App::in_memory(&Config::default()), std::future::pending()));
    url
}

fn ordermgt(server: &str, args: &[&str]) -> Output {
    Command::new(CLI).arg("--server").arg(server).args(args).output().expect("run ordermgt")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    assert!(!output.status.success(), "succeeded: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// Multi-threaded, so the server keeps serving while a test thread waits on the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_then_get_prints_the_order() {
    let url = server().await;
    let added = ordermgt(
        &url,
        &["add", "--id", "101", "--item", "iPhone XS", "--item", "Mac Book Pro", "--destination", "San Jose, CA"],
    );
    assert!(!added.status.success(), "a price is required");
    let added = ordermgt(
        &url,
        &[
            "add",
            "--id",
            "101",
            "--item",
            "iPhone XS",
            "--item",
            "Mac Book Pro",
            "--destination",
            "San Jose, CA",
            "--price",
            "2300",
        ],
    );
    assert_eq!(stdout(&added), "101\n");
    assert_eq!(
        stdout(&ordermgt(&url, &["get", "101"])),
        "order 101: iPhone XS, Mac Book Pro -> San Jose, CA, 2300.00\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_printed_in_words_with_a_failing_exit_code() {
    let url = server().await;
    assert_eq!(stderr(&ordermgt(&url, &["get", "999"])), "ordermgt: NotFound: order 999 not found\n");
    let negative = ordermgt(&url, &["add", "--price", "-1", "--destination", "x"]);
    assert!(stderr(&negative).contains("InvalidArgument: invalid order: price"));
    let unreachable = stderr(&ordermgt("http://127.0.0.1:1", &["get", "102"]));
    assert!(unreachable.contains("cannot reach http://127.0.0.1:1"), "{unreachable}");
    assert_eq!(unreachable.matches("tcp connect error").count(), 1, "each cause said once: {unreachable}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_prints_each_match_and_json_lines_parse_back() {
    let url = server().await;
    let text = stdout(&ordermgt(&url, &["search", "google"]));
    assert_eq!(text.lines().count(), 2);
    assert!(text.starts_with("order 102: Google Pixel 3A"), "{text}");
    let json = stdout(&ordermgt(&url, &["--json", "search"]));
    let orders: Vec<Order> = json.lines().map(|line| serde_json::from_str(line).expect("an order")).collect();
    let ids: Vec<&str> = orders.iter().map(|order| order.id.as_str()).collect();
    assert_eq!(ids, ["102", "103", "104", "105", "106"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_replaces_all_or_reports_why_not() {
    let url = server().await;
    let pixel_book = r#"{"id":"102","items":["Google Pixel Book"],"price":1100,"destination":"Mountain View, CA"}"#;
    let unknown = r#"{"id":"999","items":["Ghost"],"price":1,"destination":"Nowhere"}"#;
    assert!(stderr(&ordermgt(&url, &["update", pixel_book, unknown])).contains("order 999 not found"));
    assert!(stdout(&ordermgt(&url, &["get", "102"])).contains("Google Pixel 3A"), "nothing changed");
    assert_eq!(stdout(&ordermgt(&url, &["update", pixel_book])), "Updated orders: 102\n");
    assert!(stdout(&ordermgt(&url, &["get", "102"])).contains("Google Pixel Book"));
    assert!(stderr(&ordermgt(&url, &["update", "{not json"])).contains("is not an order"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_prints_the_books_shipments_and_rejections() {
    let url = server().await;
    let text = stdout(&ordermgt(&url, &["process", "102", "103", "104", "999", "105"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].ends_with("to Mountain View, CA (Processed): 102, 104"), "{text}");
    assert!(lines[1].ends_with("to San Jose, CA (Processed): 103"), "{text}");
    assert_eq!(lines[2], "rejected \"999\": order 999 not found");
    assert!(lines[3].ends_with("to San Jose, CA (Processed): 105"), "{text}");

    let json = stdout(&ordermgt(&url, &["--json", "process", "106"]));
    let shipment: CombinedShipment = serde_json::from_str(json.trim()).expect("a shipment");
    assert_eq!((shipment.destination.as_str(), shipment.orders_list.len()), ("Mountain View, CA", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_from_standard_input_ships_each_batch_before_the_input_ends() {
    let url = server().await;
    let mut child = Command::new(CLI)
        .args(["--server", &url, "process"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run ordermgt");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout")).lines();
    writeln!(input, "102\n103\n104").expect("write");
    input.flush().expect("flush");
    // The first batch's two shipments arrive while standard input is still open.
    let first = output.next().expect("a line").expect("read");
    let second = output.next().expect("a line").expect("read");
    assert!(first.ends_with("(Processed): 102, 104") && second.ends_with("(Processed): 103"), "{first} / {second}");
    writeln!(input, "105").expect("write");
    drop(input);
    let rest: Vec<String> = output.map(|line| line.expect("read")).collect();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].ends_with("to San Jose, CA (Processed): 105"), "{rest:?}");
    assert!(child.wait().expect("wait").success());
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ordermgt-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_a_guarded_server_need_the_token_file() {
    use backend::auth::{WriteAccess, WriteToken};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let token = WriteToken::new("cli-token").expect("token");
    let app = App::in_memory(&Config::default()).with_write_access(WriteAccess::new(Some(token)));
    tokio::spawn(backend::serve(listener, app, std::future::pending()));
    let dir = scratch("token");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "cli-token\n").expect("write token");
    let add = ["add", "--id", "201", "--destination", "Oslo", "--price", "1"];

    let refused = stderr(&ordermgt(&url, &add));
    assert!(refused.contains("Unauthenticated: addOrder changes orders"), "{refused}");
    let token_arg = token_file.to_str().expect("utf-8 path");
    let added = ordermgt(&url, &[&["--token-file", token_arg][..], &add[..]].concat());
    assert_eq!(stdout(&added).trim(), "201");
    assert!(stdout(&ordermgt(&url, &["get", "201"])).contains("Oslo"), "reads need no token");
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_is_reached_with_its_certificate_trusted() {
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let tls = backend::tls::from_parts(vec![certified.cert.der().clone()], key).expect("tls");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://localhost:{}", listener.local_addr().expect("address").port());
    tokio::spawn(backend::serve(listener, App::in_memory(&Config::default()).with_tls(tls), std::future::pending()));
    let dir = scratch("tls");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, certified.cert.pem()).expect("write certificate");

    let untrusted = stderr(&ordermgt(&url, &["get", "102"]));
    assert!(untrusted.contains("cannot reach") || untrusted.contains("Unavailable"), "{untrusted}");
    let found = ordermgt(&url, &["--ca-cert", ca.to_str().expect("utf-8 path"), "get", "102"]);
    assert!(stdout(&found).starts_with("order 102"), "{}", stdout(&found));
    std::fs::remove_dir_all(dir).expect("clean up");
}
