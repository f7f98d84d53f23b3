//! The page behind a proxy that cannot carry WebSockets, in real headless browsers: the first
//! session's WebSocket closes before any answer, so the session moves to gRPC-Web with the ids
//! entered so far (the server never saw them), the panel says why, and later sessions and updates
//! go straight to gRPC-Web.

use e2e::{Browser, Relay, Session, handled, serve_page};

async fn falling_back_to_grpc_web(browser: Browser) {
    let (server, app) = serve_page().await;
    let relay = Relay::without_websockets(&server).await;
    let page = Session::start(browser).await;
    page.client.goto(&relay.url).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == ["websocket"]).await;

    for id in ["102", "103", "104", "105"] {
        page.fill("#process-id", id).await;
        page.click("#process-send").await;
    }
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == ["grpc-web"]).await;
    let why = page.wait_for_text("#process-fallback", |text| !text.is_empty()).await;
    assert!(why.contains("WebSocket"), "{why}");
    page.wait_for_attrs("#shipments .shipment", "data-id", |ids| ids.len() == 2).await;
    page.wait_for_attrs("#process-pending li", "data-id", |ids| ids == ["105"]).await;
    page.click("#process-finish").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["finished"]).await;
    let shipped = page.wait_for_attrs("#shipments .shipment", "data-destination", |shown| shown.len() == 3).await;
    assert_eq!(shipped, ["Mountain View, CA", "San Jose, CA", "San Jose, CA"]);
    // Every id once, over gRPC-Web, and no processOrders call ever started.
    assert_eq!(handled(&app, "processOrdersSubmit", "OK"), 4);
    assert_eq!(handled(&app, "processOrdersOpen", "OK"), 1);
    assert_eq!(handled(&app, "processOrders", "OK") + handled(&app, "processOrders", "Canceled"), 0);

    // Later writes skip the WebSocket: the switch shows gRPC-Web, and an update goes as updateOrdersUnary.
    let switch = page.find("#process-grpc-web").await;
    assert_eq!(switch.prop("checked").await.expect("checked").as_deref(), Some("true"));
    page.click("#orders tr.order-row[data-id='106'] button.edit").await;
    page.fill("#update-draft .draft[data-id='106'] input[name=price]", "299").await;
    page.click("#update-submit").await;
    page.wait_for_text("#update-result", |text| text.contains("106")).await;
    assert_eq!(handled(&app, "updateOrdersUnary", "OK"), 1);
    assert_eq!(handled(&app, "updateOrders", "OK"), 0);
    let screenshot = page.screenshot(&format!("{}-fallback", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());
    page.client.clone().close().await.expect("close the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falling_back_to_grpc_web_in_chromium() {
    falling_back_to_grpc_web(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falling_back_to_grpc_web_in_firefox() {
    falling_back_to_grpc_web(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falling_back_to_grpc_web_in_webkit() {
    falling_back_to_grpc_web(Browser::WebKit).await;
}
