//! What the browser tests share: the real backend serving the release page,
//! WebDriver sessions in headless Chromium and Firefox and in WebKit (on a
//! virtual display: WebKitGTK has no headless mode), and patient lookups.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use backend::{App, Config};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// How long a lookup waits for the page to get somewhere before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The browsers the page is tested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
    /// WebKitGTK's MiniBrowser: the engine of Safari.
    WebKit,
}

/// WebKitGTK's browser for automation (Debian's `libwebkit2gtk-4.1-0`).
const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

impl Browser {
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
            Browser::WebKit => "webkit",
        }
    }

    fn driver(self) -> &'static str {
        match self {
            Browser::Chromium => "chromedriver",
            Browser::Firefox => "geckodriver",
            Browser::WebKit => "WebKitWebDriver",
        }
    }

    fn capabilities(self, profile: &std::path::Path) -> serde_json::Map<String, serde_json::Value> {
        let capabilities = match self {
            Browser::Chromium => serde_json::json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--window-size=1280,1000",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }),
            Browser::Firefox => serde_json::json!({
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": "/usr/bin/firefox-esr",
                    "args": ["-headless", "-width=1280", "-height=1000", "-profile", profile.display().to_string()],
                    "prefs": { "app.update.enabled": false, "network.captive-portal-service.enabled": false },
                },
            }),
            Browser::WebKit => serde_json::json!({
                "browserName": "MiniBrowser",
                "webkitgtk:browserOptions": {
                    "binary": MINIBROWSER,
                    // A private session keeps nothing on disk; the size is set once it runs.
                    "args": ["--automation", "--private"],
                },
            }),
        };
        match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("capabilities are an object"),
        }
    }
}

/// The workspace's built page, or a failure that says how to build it.
pub fn dist() -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist");
    assert!(
        dist.join("index.html").is_file(),
        "the page is not built at {}: run scripts/build-page.sh (scripts/test.sh does)",
        dist.display()
    );
    dist
}

/// The configuration of an app serving the release page: build the `App` for [`serve_app`] from it.
pub fn page_config() -> Config {
    Config { web_dir: Some(dist()), ..Config::default() }
}

/// Serves the real app (fresh store, the book's orders) with the release page on an ephemeral port.
pub async fn serve_page() -> (String, App) {
    serve_app(App::in_memory(&page_config())).await
}

/// Serves `app` on an ephemeral port, e.g. `App::in_memory(&page_config()).with_write_access(…)`.
pub async fn serve_app(app: App) -> (String, App) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(backend::serve(listener, app.clone(), std::future::pending()));
    (url, app)
}

/// A TCP relay in front of a server: the page is opened through it, and [`Relay::cut`] drops every
/// connection through it at once, as a server that restarts or a network that fails would (new
/// connections go through again right away).
#[derive(Debug)]
pub struct Relay {
    /// `http://127.0.0.1:PORT`, the relay's own address.
    pub url: String,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    /// Starts relaying to `server` (`http://HOST:PORT`).
    pub async fn to(server: &str) -> Relay {
        Relay::start(server, false).await
    }

    /// A relay that cannot carry WebSockets, as some proxies cannot: a connection whose request
    /// asks for an upgrade to one is dropped.
    pub async fn without_websockets(server: &str) -> Relay {
        Relay::start(server, true).await
    }

    async fn start(server: &str, refuse_websockets: bool) -> Relay {
        let upstream = server.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (cut, cuts) = tokio::sync::watch::channel(0);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                // Only the cuts after this connection came end it.
                cuts.borrow_and_update();
                tokio::spawn(relay(client, upstream.clone(), refuse_websockets, cuts));
            }
        });
        Relay { url, cut }
    }

    /// Drops every connection open through the relay.
    pub fn cut(&self) {
        self.cut.send_modify(|cuts| *cuts += 1);
    }
}

async fn relay(
    mut client: tokio::net::TcpStream,
    upstream: String,
    refuse_websockets: bool,
    mut cuts: tokio::sync::watch::Receiver<u64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
    if refuse_websockets {
        // A browser opens a connection of its own for each WebSocket, and asks for it first thing.
        let mut first = vec![0; 16 * 1024];
        let Ok(read) = client.read(&mut first).await else { return };
        let request = String::from_utf8_lossy(&first[..read]).to_ascii_lowercase();
        if request.contains("upgrade: websocket") || server.write_all(&first[..read]).await.is_err() {
            return;
        }
    }
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cuts.changed() => {}
    }
}

/// How many calls of `method` the server handled with `code` (`OK`, `Canceled`, ...), as
/// `GET /metrics` counts them in `grpc_server_handled_total`.
pub fn handled(app: &App, method: &str, code: &str) -> u64 {
    calls_counted(app, "grpc_server_handled_total", method, Some(code))
}

/// How many calls of `method` the server began (`grpc_server_started_total`), whatever became of them.
pub fn started(app: &App, method: &str) -> u64 {
    calls_counted(app, "grpc_server_started_total", method, None)
}

/// The sum of `series` over the lines for `method` (and `code`, if given), on every protocol.
fn calls_counted(app: &App, series: &str, method: &str, code: Option<&str>) -> u64 {
    let method = format!("grpc_method=\"{method}\"");
    let code = code.map(|code| format!("grpc_code=\"{code}\""));
    let prefix = format!("{series}{{");
    app.metrics()
        .encode()
        .lines()
        .filter(|line| line.starts_with(&prefix) && line.contains(&method))
        .filter(|line| code.as_ref().is_none_or(|code| line.contains(code)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// How many calls the page opened over WebSocket in grpc-ws `revision` (`v1`, `v2`).
pub fn websocket_calls(app: &App, revision: &str) -> u64 {
    let series = format!("ordermgt_websocket_calls_total{{revision=\"grpc-ws.{revision}\"}} ");
    let text = app.metrics().encode();
    text.lines().find_map(|line| line.strip_prefix(&series)?.parse::<f64>().ok()).unwrap_or(0.0) as u64
}

/// Waits until `done` holds, failing with `what` after [`PATIENCE`].
pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "still waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The body of `GET url` (`http://host:port/path`) when it answers 200, else `None`.
pub async fn get_text(url: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(host, path)| (host, format!("/{path}")));
    let mut stream = tokio::net::TcpStream::connect(authority).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer)).await.ok()?.ok()?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.split(' ').nth(1).filter(|code| *code == "200").map(|_| body.to_string())
}

/// What [`Session::wait_for_values`] reads of each element.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Attribute(&'a str),
    Property(&'a str),
}

/// Starts Xvfb on a display it picks: the server and the display's name (`:N`).
async fn virtual_display() -> (Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut xvfb = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1280x1000x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start Xvfb: {error} (scripts/setup.sh --test installs it)"));
    let stdout = xvfb.stdout.take().expect("Xvfb's stdout");
    let mut number = String::new();
    tokio::time::timeout(PATIENCE, BufReader::new(stdout).read_line(&mut number))
        .await
        .expect("Xvfb named its display in time")
        .expect("read Xvfb's display");
    (xvfb, format!(":{}", number.trim()))
}

/// A WebDriver server and the browser session it drives; both end when dropped.
#[derive(Debug)]
pub struct Session {
    pub client: Client,
    _driver: Child,
    /// WebKit's virtual X display (Xvfb), after the driver in drop order.
    _display: Option<Child>,
    profile: PathBuf,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Session {
    pub async fn start(browser: Browser) -> Session {
        let port = StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let display = match browser {
            Browser::WebKit => Some(virtual_display().await),
            Browser::Chromium | Browser::Firefox => None,
        };
        let mut driver = Command::new(browser.driver());
        if let Some((_, name)) = &display {
            driver.env("DISPLAY", name);
        }
        let driver = driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start {}: {error} (scripts/setup.sh --test installs it)", browser.driver())
            });
        let profile =
            std::env::temp_dir().join(format!("ordermgt-e2e-{}-{}-{port}", browser.name(), std::process::id()));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let capabilities = browser.capabilities(&profile);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let mut builder = ClientBuilder::new(connector);
            builder.capabilities(capabilities.clone());
            let address = format!("http://127.0.0.1:{port}");
            let connecting = builder.connect(&address);
            // A browser that cannot start (WebKit without a display) leaves the request unanswered.
            match tokio::time::timeout(PATIENCE, connecting)
                .await
                .unwrap_or_else(|_| panic!("{} did not answer a session request in {PATIENCE:?}", browser.driver()))
            {
                Ok(client) => break client,
                // The driver may still be starting: try again until the deadline.
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                Err(error) => panic!("no {} session through {}: {error}", browser.name(), browser.driver()),
            }
        };
        if browser == Browser::WebKit {
            client.set_window_size(1280, 1000).await.expect("size WebKit's window");
        }
        Session { client, _driver: driver, _display: display.map(|(xvfb, _)| xvfb), profile }
    }

    /// The element matching `css`, once it exists.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css}: {error}"))
    }

    /// Every element matching `css` right now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_default()
    }

    /// The `attribute` of every element matching `css`, once `done` accepts them.
    pub async fn wait_for_attrs(&self, css: &str, attribute: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        self.wait_for_values(css, Value::Attribute(attribute), done).await
    }

    /// The `property` of every element matching `css` (an input's `value` is one, not an
    /// attribute), once `done` accepts them.
    pub async fn wait_for_props(&self, css: &str, property: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        self.wait_for_values(css, Value::Property(property), done).await
    }

    async fn wait_for_values(&self, css: &str, read: Value<'_>, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let mut values = Vec::new();
            for element in self.all(css).await {
                let value = match read {
                    Value::Attribute(name) => element.attr(name).await,
                    Value::Property(name) => element.prop(name).await,
                };
                if let Ok(Some(value)) = value {
                    values.push(value);
                }
            }
            if done(&values) {
                return values;
            }
            let what = match read {
                Value::Attribute(name) => format!("[{name}]"),
                Value::Property(name) => format!(".{name}"),
            };
            assert!(tokio::time::Instant::now() < deadline, "{css}{what} stayed {values:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the element matching `css`, once `done` accepts it.
    pub async fn wait_for_text(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if done(&text) {
                return text;
            }
            assert!(tokio::time::Instant::now() < deadline, "{css} stayed {text:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until nothing matches `css` any more.
    pub async fn wait_until_gone(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.all(css).await.is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "{css} stayed on the page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replaces the value of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap_or_else(|error| panic!("clear {css}: {error}"));
        // WebKitWebDriver refuses to type nothing ("Missing text parameter").
        if !text.is_empty() {
            input.send_keys(text).await.unwrap_or_else(|error| panic!("type into {css}: {error}"));
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        // The middle of the window, clear of the sticky top bar (where a browser may scroll it).
        if let Ok(argument) = serde_json::to_value(&element) {
            let _ = self.client.execute("arguments[0].scrollIntoView({block: 'center'})", vec![argument]).await;
        }
        element.click().await.unwrap_or_else(|error| panic!("click {css}: {error}"));
    }

    /// Saves a screenshot where a reviewer can find it: `target/e2e/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        // From the top of the page, as a reader opens it.
        let _ = self.client.execute("window.scrollTo(0, 0)", Vec::new()).await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}
