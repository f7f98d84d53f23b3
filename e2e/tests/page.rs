//! The release page in real headless browsers, driven over WebDriver, against
//! the real backend: list, search, add, update, and process orders, over the
//! WebSocket (the default: the book's `processOrders` and `updateOrders` as they
//! are) and over gRPC-Web (forced with `?transport=grpc-web`, or the switch).

use backend::App;
use e2e::{Browser, Session, handled, serve_page, wait_until, websocket_calls};

/// Shipments as shown: `(destination, "id, id")`, in the order they appeared.
async fn shipments(page: &Session) -> Vec<(String, String)> {
    let mut shown = Vec::new();
    for shipment in page.all("#shipments .shipment").await {
        let destination = shipment.attr("data-destination").await.ok().flatten().unwrap_or_default();
        let orders = match shipment.find(fantoccini::Locator::Css(".shipment-orders")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        shown.push((destination, orders));
    }
    shown
}

async fn wait_for_shipments(page: &Session, count: usize) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + e2e::PATIENCE;
    loop {
        let shown = shipments(page).await;
        if shown.len() >= count {
            return shown;
        }
        assert!(tokio::time::Instant::now() < deadline, "shipments stayed {shown:?}, expected {count}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn pair(destination: &str, orders: &str) -> (String, String) {
    (destination.to_string(), orders.to_string())
}

async fn enter_id(page: &Session, id: &str) {
    page.fill("#process-id", id).await;
    page.click("#process-send").await;
}

/// Adds the book's order 101 through the form.
async fn add_101(page: &Session) {
    page.fill("#add-id", "101").await;
    page.fill("#add-items", "iPhone XS\nMac Book Pro").await;
    page.fill("#add-price", "2300").await;
    page.fill("#add-destination", "San Jose, CA").await;
    page.click("#add-submit").await;
    page.wait_for_text("#add-result", |text| text.contains("101")).await;
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.first().is_some_and(|id| id == "101")).await;
}

/// Updates 102 and 103 at once, from the draft.
async fn update_two_orders(page: &Session) {
    page.click("#orders tr.order-row[data-id='102'] button.edit").await;
    page.click("#orders tr.order-row[data-id='103'] button.edit").await;
    page.fill("#update-draft .draft[data-id='102'] input[name=price]", "1700").await;
    page.fill("#update-draft .draft[data-id='103'] input[name=price]", "350").await;
    page.click("#update-submit").await;
    page.wait_for_text("#update-result", |text| text.contains("102") && text.contains("103")).await;
    page.wait_for_text("#orders tr.order-row[data-id='102']", |text| text.contains("1700.00")).await;
    page.wait_for_text("#orders tr.order-row[data-id='103']", |text| text.contains("350.00")).await;
}

/// The book's flow over `transport`: 102, 103, 104 ship as two shipments before 101 is entered;
/// 999 is rejected; 101 ships after Finish.
async fn process_the_books_orders(page: &Session, transport: &str) {
    for id in ["102", "103", "104"] {
        enter_id(page, id).await;
    }
    // While the session runs, the panel names what carries it.
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == [transport]).await;
    let first = wait_for_shipments(page, 2).await;
    assert_eq!(first, [pair("Mountain View, CA", "102, 104"), pair("San Jose, CA", "103")]);
    enter_id(page, "999").await;
    page.wait_for_text("#shipments .rejection[data-id='999']", |text| text.contains("not found")).await;
    enter_id(page, "101").await;
    page.wait_for_attrs("#process-pending li", "data-id", |ids| ids == ["101"]).await;
    assert_eq!(shipments(page).await.len(), 2, "101 waits in the pending batch");
    page.click("#process-finish").await;
    let all = wait_for_shipments(page, 3).await;
    assert_eq!(all[2], pair("San Jose, CA", "101"));
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["finished"]).await;
}

/// Stop, then closing the tab, each end the session's stream on the server at once.
async fn stop_and_close_the_tab(page: &Session, app: &App, address: &str, transport: &str) {
    assert_eq!(app.open_process_streams(), 0, "no stream is open before");
    enter_id(page, "102").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["open"]).await;
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == [transport]).await;
    wait_until("the session's stream on the server", || app.open_process_streams() == 1).await;
    page.click("#process-stop").await;
    wait_until("Stop to end the stream on the server", || app.open_process_streams() == 0).await;

    let first_tab = page.client.window().await.expect("this tab");
    let tab = page.client.new_window(true).await.expect("a new tab").handle;
    page.client.switch_to_window(tab).await.expect("to the new tab");
    page.client.goto(address).await.expect("open the page in the new tab");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| !ids.is_empty()).await;
    enter_id(page, "103").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["open"]).await;
    wait_until("the new tab's stream on the server", || app.open_process_streams() == 1).await;
    page.client.close_window().await.expect("close the tab");
    page.client.switch_to_window(first_tab).await.expect("back to the first tab");
    wait_until("closing the tab to end the stream on the server", || app.open_process_streams() == 0).await;
}

async fn the_whole_workflow(browser: Browser) {
    let (url, app) = serve_page().await;
    let page = Session::start(browser).await;
    page.client.goto(&url).await.expect("open the page");

    // List: the table fills from searchOrders; the connection shows as connected.
    let ids = page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    assert_eq!(ids, ["102", "103", "104", "105", "106"]);
    page.wait_for_attrs("#connection", "data-state", |state| state == ["connected"]).await;
    let first_row_ms = page.find("#orders").await.attr("data-first-row-ms").await.ok().flatten();
    println!(
        "{}: first order row rendered {} ms after navigation start",
        browser.name(),
        first_row_ms.as_deref().unwrap_or("?")
    );
    // The WebSocket is the default.
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == ["websocket"]).await;

    // Search.
    page.fill("#search", "google").await;
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids == ["102", "104"]).await;
    page.fill("#search", "").await;
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;

    // Add: a bad price is refused in words; the book's 101 is added and listed.
    page.fill("#add-id", "101").await;
    page.fill("#add-items", "iPhone XS\nMac Book Pro").await;
    page.fill("#add-price", "-5").await;
    page.fill("#add-destination", "San Jose, CA").await;
    page.click("#add-submit").await;
    page.wait_for_text("#add-error", |text| text.contains("price")).await;
    page.fill("#add-price", "2300").await;
    page.click("#add-submit").await;
    page.wait_for_text("#add-result", |text| text.contains("101")).await;
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.first().is_some_and(|id| id == "101")).await;

    // Update two at once: one client stream, the book's updateOrders, over the WebSocket.
    update_two_orders(&page).await;
    assert_eq!(handled(&app, "updateOrders", "OK"), 1, "the update reached the server as updateOrders");
    assert_eq!(handled(&app, "updateOrdersUnary", "OK"), 0);

    // An update with one bad order changes nothing.
    page.click("#orders tr.order-row[data-id='104'] button.edit").await;
    page.click("#orders tr.order-row[data-id='105'] button.edit").await;
    page.fill("#update-draft .draft[data-id='104'] input[name=price]", "1").await;
    page.fill("#update-draft .draft[data-id='105'] input[name=price]", "-1").await;
    page.click("#update-submit").await;
    page.wait_for_text("#update-error", |text| text.contains("105")).await;
    let row_104 = page.wait_for_text("#orders tr.order-row[data-id='104']", |text| !text.is_empty()).await;
    assert!(row_104.contains("400.00"), "the refused update changed 104: {row_104}");
    assert_eq!(handled(&app, "updateOrders", "InvalidArgument"), 1);

    // Process, full duplex over the WebSocket: the book's processOrders itself.
    process_the_books_orders(&page, "websocket").await;
    assert_eq!(handled(&app, "processOrders", "OK"), 1, "the session was the book's processOrders");
    assert_eq!(handled(&app, "processOrdersOpen", "OK"), 0);
    let transport = page.wait_for_text("#process-transport", |text| !text.is_empty()).await;
    println!("{}: processed over {transport}", browser.name());
    let screenshot = page.screenshot(&format!("{}-websocket", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());

    stop_and_close_the_tab(&page, &app, &url, "websocket").await;
    assert_eq!(handled(&app, "processOrders", "Canceled"), 2, "Stop and the closed tab cancelled their calls");
    // Every WebSocket call spoke the newest revision, several frames a message.
    assert_eq!((websocket_calls(&app, "v2"), websocket_calls(&app, "v1")), (5, 0), "update, 2 updates, 3 sessions");
    page.client.clone().close().await.expect("close the browser");
}

/// The WebSocket flows with the page offering grpc-ws.v1 alone (`?grpc-ws=v1`), as a page older
/// than v2 does: a frame per WebSocket message, both ways.
async fn over_grpc_ws_v1(browser: Browser) {
    let (url, app) = serve_page().await;
    let page = Session::start(browser).await;
    page.client.goto(&format!("{url}/?grpc-ws=v1")).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    add_101(&page).await;
    update_two_orders(&page).await;
    assert_eq!(handled(&app, "updateOrders", "OK"), 1, "the update went over the WebSocket");
    process_the_books_orders(&page, "websocket").await;
    assert_eq!(handled(&app, "processOrders", "OK"), 1, "the session was the book's processOrders");
    assert_eq!((websocket_calls(&app, "v1"), websocket_calls(&app, "v2")), (2, 0));
    page.client.clone().close().await.expect("close the browser");
}

/// The same flows, forced over gRPC-Web by the page's address; then the switch brings the
/// WebSocket back.
async fn forced_over_grpc_web(browser: Browser) {
    let (url, app) = serve_page().await;
    let page = Session::start(browser).await;
    let address = format!("{url}/?transport=grpc-web");
    page.client.goto(&address).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == ["grpc-web"]).await;
    let switch = page.find("#process-grpc-web").await;
    assert_eq!(switch.prop("checked").await.expect("checked").as_deref(), Some("true"));

    add_101(&page).await;
    update_two_orders(&page).await;
    assert_eq!(handled(&app, "updateOrdersUnary", "OK"), 1);
    assert_eq!(handled(&app, "updateOrders", "OK"), 0);

    process_the_books_orders(&page, "grpc-web").await;
    assert_eq!(handled(&app, "processOrdersFinish", "OK"), 1);
    assert_eq!(handled(&app, "processOrders", "OK"), 0);
    let screenshot = page.screenshot(&format!("{}-grpc-web", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());

    stop_and_close_the_tab(&page, &app, &address, "grpc-web").await;

    // The switch, off: the next session takes the WebSocket.
    page.click("#process-grpc-web").await;
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == ["websocket"]).await;
    enter_id(&page, "105").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["open"]).await;
    page.click("#process-finish").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["finished"]).await;
    assert_eq!(handled(&app, "processOrders", "OK"), 1);
    page.client.clone().close().await.expect("close the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_workflow_in_chromium() {
    the_whole_workflow(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_workflow_in_firefox() {
    the_whole_workflow(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_over_grpc_web_in_chromium() {
    forced_over_grpc_web(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_over_grpc_web_in_firefox() {
    forced_over_grpc_web(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_ws_v1_in_chromium() {
    over_grpc_ws_v1(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_ws_v1_in_firefox() {
    over_grpc_ws_v1(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_ws_v1_in_webkit() {
    over_grpc_ws_v1(Browser::WebKit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_workflow_in_webkit() {
    the_whole_workflow(Browser::WebKit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_over_grpc_web_in_webkit() {
    forced_over_grpc_web(Browser::WebKit).await;
}
