//! The development setup as `scripts/dev.sh` runs it: the backend allowing
//! trunk's origin, and `trunk serve` (with the repository's `Trunk.toml`, its
//! ports made ephemeral) building the page for development with
//! `ORDERMGT_DEV_WEBSOCKET_ORIGIN`. The page on trunk's port lists orders
//! through trunk's proxy and processes over its WebSocket, opened on the
//! backend's own port (trunk's proxy cannot carry it), in each browser; and
//! live reload still reloads the page when a source file is saved.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use backend::{App, Config};
use e2e::{Browser, Session, handled, serve_app};
use tokio::process::{Child, Command};

/// How long trunk may take to build the page for development from nothing (a cold wasm build).
const FIRST_BUILD: Duration = Duration::from_secs(900);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("the workspace")
}

/// The repository's Trunk.toml for trunk on `port` and the backend at `backend`: each setting the
/// test changes must be found, so that the test follows the file rather than a copy of it.
fn trunk_config(port: u16, backend: &str, dir: &Path) -> PathBuf {
    let root = workspace();
    let original = std::fs::read_to_string(root.join("Trunk.toml")).expect("Trunk.toml");
    let mut config = original.clone();
    for (from, to) in [
        ("target = \"index.html\"".to_string(), format!("target = \"{}\"", root.join("index.html").display())),
        ("dist = \"dist\"".to_string(), format!("dist = \"{}\"", dir.join("dist").display())),
        ("port = 8080".to_string(), format!("port = {port}")),
        ("http://127.0.0.1:50051/".to_string(), format!("{backend}/")),
    ] {
        assert!(config.contains(&from), "Trunk.toml no longer says {from}: update this test");
        config = config.replace(&from, &to);
    }
    let path = dir.join("Trunk.toml");
    std::fs::write(&path, config).expect("write the test's Trunk.toml");
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

/// `trunk serve` as scripts/dev.sh starts it, with its output in `dir/trunk.log`.
fn trunk_serve(config: &Path, backend: &str, dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("trunk.log")).expect("trunk's log");
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"), PathBuf::from)
        .join("bin");
    let path = std::env::join_paths(
        std::iter::once(cargo_bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    Command::new("trunk")
        .arg("serve")
        .arg("--config")
        .arg(config)
        .current_dir(workspace())
        .env("PATH", path)
        .env("TRUNK_SKIP_VERSION_CHECK", "true")
        .env("ORDERMGT_DEV_WEBSOCKET_ORIGIN", backend.replace("http://", "ws://"))
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("trunk (scripts/setup.sh installs it)")
}

/// Waits until trunk serves the page it has built.
async fn served(url: &str, trunk: &mut Child, log: &Path) {
    let deadline = tokio::time::Instant::now() + FIRST_BUILD;
    loop {
        if let Some(status) = trunk.try_wait().expect("trunk's state") {
            panic!("trunk serve exited ({status}):\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        if e2e::get_text(url).await.is_some_and(|page| page.contains("<script")) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "trunk served no page in {FIRST_BUILD:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn websocket_and_live_reload(page: &Session, url: &str, app: &App, browser: Browser) {
    page.client.goto(url).await.expect("open trunk's page");
    // Listed through trunk's proxy (gRPC-Web).
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    let processed_before = handled(app, "processOrders", "OK");
    for id in ["102", "103", "104"] {
        page.fill("#process-id", id).await;
        page.click("#process-send").await;
    }
    page.wait_for_attrs("#shipments .shipment", "data-destination", |shown| shown.len() == 2).await;
    let transport = page.wait_for_attrs("#process-transport", "data-transport", |shown| !shown.is_empty()).await;
    assert_eq!(transport, ["websocket"], "{}: under trunk serve the session is full duplex", browser.name());
    page.click("#process-finish").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["finished"]).await;
    assert_eq!(
        handled(app, "processOrders", "OK"),
        processed_before + 1,
        "{}: the book's processOrders",
        browser.name()
    );

    // Live reload: saving a file the page is built from reloads the page.
    page.client.execute("window.beforeReload = true", Vec::new()).await.expect("mark the page");
    let style = workspace().join("frontend/style.css");
    let content = std::fs::read(&style).expect("style.css");
    std::fs::write(&style, content).expect("save style.css unchanged");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let marked = page.client.execute("return window.beforeReload === true", Vec::new()).await;
        if marked.ok().and_then(|value| value.as_bool()) == Some(false) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}: saving style.css did not reload the page", browser.name());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_trunk_serve_the_page_is_full_duplex_and_reloads_live() {
    let dir = std::env::temp_dir().join(format!("ordermgt-e2e-dev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for trunk");
    let trunk_port = free_port();
    let page = format!("http://127.0.0.1:{trunk_port}");
    // The backend as scripts/dev.sh starts it: trunk's origin listed with --cors-origin.
    let config = Config { cors_origins: vec![page.parse().expect("an origin")], ..Config::default() };
    let (backend, app) = serve_app(App::in_memory(&config)).await;
    let trunk_config = trunk_config(trunk_port, &backend, &dir);
    let mut trunk = trunk_serve(&trunk_config, &backend, &dir);
    served(&page, &mut trunk, &dir.join("trunk.log")).await;
    for browser in [Browser::Chromium, Browser::Firefox, Browser::WebKit] {
        let session = Session::start(browser).await;
        websocket_and_live_reload(&session, &page, &app, browser).await;
        session.client.clone().close().await.expect("close the browser");
    }
    drop(trunk);
    let _ = std::fs::remove_dir_all(&dir);
}
