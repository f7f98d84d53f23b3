//! The page's static files on the gRPC port: content types, compression, caching,
//! and a clear word when the page has not been built.

mod common;

use std::path::PathBuf;

use backend::Config;
use common::spawn_with;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const WASM: &str = "frontend-0123456789abcdef_bg.wasm";
const JS: &str = "frontend-0123456789abcdef.js";

/// A `dist/` as trunk writes it, in a fresh temporary directory.
fn fake_dist(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordermgt-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dist");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>ordermgt</title>").expect("index");
    std::fs::write(dir.join(WASM), vec![0u8; 64 * 1024]).expect("wasm");
    std::fs::write(dir.join(JS), "export default function init() {}\n".repeat(100)).expect("js");
    dir
}

struct Fetched {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }
}

async fn get(url: String, accept_encoding: Option<&str>) -> Fetched {
    let mut request = http::Request::get(url);
    if let Some(encoding) = accept_encoding {
        request = request.header("accept-encoding", encoding);
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = client.request(request.body(Empty::new()).expect("request")).await.expect("get");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Fetched { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() }
}

#[tokio::test]
async fn before_the_page_is_built_the_root_names_the_command_that_builds_it() {
    let missing = std::env::temp_dir().join(format!("ordermgt-no-dist-{}", std::process::id()));
    let server = spawn_with(Config { web_dir: Some(missing), ..Config::default() }).await;
    let root = get(format!("{}/", server.url()), None).await;
    assert_eq!(root.status, http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(root.header("content-type").starts_with("text/html"));
    assert!(root.body.contains("scripts/build-page.sh"), "{}", root.body);
    assert_eq!(get(format!("{}/{JS}", server.url()), None).await.status, http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn index_html_is_served_at_the_root_and_never_cached() {
    let server = spawn_with(Config { web_dir: Some(fake_dist("index")), ..Config::default() }).await;
    let root = get(format!("{}/", server.url()), None).await;
    assert_eq!(root.status, http::StatusCode::OK);
    assert!(root.header("content-type").starts_with("text/html"));
    assert_eq!(root.header("cache-control"), "no-cache");
    assert!(root.body.contains("<title>ordermgt</title>"));
}

#[tokio::test]
async fn hashed_assets_have_their_types_are_compressed_and_cached_for_good() {
    let server = spawn_with(Config { web_dir: Some(fake_dist("assets")), ..Config::default() }).await;
    let wasm = get(format!("{}/{WASM}", server.url()), Some("gzip")).await;
    assert_eq!(wasm.status, http::StatusCode::OK);
    assert_eq!(wasm.header("content-type"), "application/wasm");
    assert_eq!(wasm.header("content-encoding"), "gzip");
    assert_eq!(wasm.header("cache-control"), "public, max-age=31536000, immutable");

    let js = get(format!("{}/{JS}", server.url()), Some("br")).await;
    assert!(js.header("content-type").starts_with("text/javascript"), "{}", js.header("content-type"));
    assert_eq!(js.header("content-encoding"), "br");

    let plain = get(format!("{}/{JS}", server.url()), None).await;
    assert_eq!(plain.header("content-encoding"), "", "no compression unless asked for");
    assert!(plain.body.starts_with("export default function init()"));
}

#[tokio::test]
async fn a_precompressed_copy_is_sent_to_browsers_that_take_gzip() {
    let dist = fake_dist("precompressed");
    std::fs::write(dist.join(format!("{JS}.gz")), "stands in for gzip -9 output").expect("gz");
    let server = spawn_with(Config { web_dir: Some(dist), ..Config::default() }).await;
    let js = get(format!("{}/{JS}", server.url()), Some("gzip")).await;
    assert_eq!(js.header("content-encoding"), "gzip");
    assert!(js.header("content-type").starts_with("text/javascript"), "{}", js.header("content-type"));
    assert_eq!(js.body, "stands in for gzip -9 output");
    assert_eq!(js.header("cache-control"), "public, max-age=31536000, immutable");
}

#[tokio::test]
async fn grpc_still_works_beside_the_page() {
    let server = spawn_with(Config { web_dir: Some(fake_dist("grpc")), ..Config::default() }).await;
    let order = server.client().await.get_order("106".to_string()).await.expect("get 106").into_inner();
    assert_eq!(order.id, "106");
}
