//! A page on another origin, listed with `--cors-origin`, calling the server
//! over gRPC-Web from real browsers with metadata of its own (`x-request-id`,
//! `traceparent`): the preflight allows the headers it asks for, and the page
//! reads the status headers of the answer (exposed to it).

use backend::{App, Config};
use e2e::{Browser, Session, serve_app};

/// The foreign page: two gRPC-Web calls with custom metadata; what it saw goes into `#result`.
fn foreign_page(server: &str) -> String {
    format!(
        r#"<!doctype html><meta charset="utf-8"><title>foreign</title><pre id="result"></pre>
<script>
const frame = (id) => new Uint8Array([0, 0, 0, 0, id.length + 2, 0x0a, id.length, ...new TextEncoder().encode(id)]);
const call = (id) => fetch("{server}/ecommerce.OrderManagement/getOrder", {{
  method: "POST",
  headers: {{
    "content-type": "application/grpc-web+proto", "x-grpc-web": "1",
    "x-request-id": "page-7", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  }},
  body: frame(id),
}});
(async () => {{
  try {{
    const found = await call("102");
    const bytes = new Uint8Array(await found.arrayBuffer());
    const missing = await call("999");
    document.getElementById("result").textContent = JSON.stringify({{
      found: found.status, foundBytes: bytes.length,
      missingStatus: missing.headers.get("grpc-status"), missingMessage: missing.headers.get("grpc-message"),
    }});
  }} catch (error) {{
    document.getElementById("result").textContent = JSON.stringify({{ error: String(error) }});
  }}
}})();
</script>"#
    )
}

async fn a_foreign_page_sends_metadata_and_reads_statuses(browser: Browser) {
    let pages = std::env::temp_dir().join(format!("ordermgt-e2e-cors-{}-{}", browser.name(), std::process::id()));
    std::fs::create_dir_all(&pages).expect("a directory for the foreign page");
    let (foreign, _) = serve_app(App::in_memory(&Config { web_dir: Some(pages.clone()), ..Config::default() })).await;
    let listed = Config { cors_origins: vec![foreign.parse().expect("an origin")], ..Config::default() };
    let (server, _) = serve_app(App::in_memory(&listed)).await;
    std::fs::write(pages.join("index.html"), foreign_page(&server)).expect("write the page");

    let page = Session::start(browser).await;
    page.client.goto(&format!("{foreign}/")).await.expect("open the foreign page");
    let result = page.wait_for_text("#result", |text| !text.is_empty()).await;
    let seen: serde_json::Value = serde_json::from_str(&result).expect("JSON");
    assert_eq!(seen["error"], serde_json::Value::Null, "{}: the call failed: {result}", browser.name());
    assert_eq!(seen["found"], 200, "{result}");
    assert!(seen["foundBytes"].as_u64().is_some_and(|bytes| bytes > 20), "an order and its trailers: {result}");
    assert_eq!(seen["missingStatus"], "5", "grpc-status is exposed to the page: {result}");
    assert!(seen["missingMessage"].as_str().is_some_and(|message| message.contains("999")), "{result}");
    page.client.clone().close().await.expect("close the browser");
    let _ = std::fs::remove_dir_all(&pages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_page_sends_metadata_and_reads_statuses_in_chromium() {
    a_foreign_page_sends_metadata_and_reads_statuses(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_page_sends_metadata_and_reads_statuses_in_firefox() {
    a_foreign_page_sends_metadata_and_reads_statuses(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_page_sends_metadata_and_reads_statuses_in_webkit() {
    a_foreign_page_sends_metadata_and_reads_statuses(Browser::WebKit).await;
}
