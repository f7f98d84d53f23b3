//! A processing session whose connection is lost mid-way (a server restart, a network failure), in
//! real headless browsers: the session fails saying so, the ids it had sent are listed as not
//! confirmed, nothing is sent again by itself, and the user's next id starts a new session.

use e2e::{Browser, Relay, Session, handled, serve_page, started, wait_until};

async fn losing_the_connection_mid_session(browser: Browser) {
    let (server, app) = serve_page().await;
    let relay = Relay::to(&server).await;
    let page = Session::start(browser).await;
    page.client.goto(&relay.url).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;

    for id in ["102", "103"] {
        page.fill("#process-id", id).await;
        page.click("#process-send").await;
    }
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["open"]).await;
    page.wait_for_attrs("#process-pending li", "data-id", |ids| ids == ["102", "103"]).await;
    wait_until("the session's stream on the server", || app.open_process_streams() == 1).await;

    relay.cut();
    let said = page.wait_for_text("#process-state", |text| text.contains("failed")).await;
    assert!(said.contains("connection to the server was lost"), "{said}");
    page.wait_for_attrs("#process-unconfirmed li", "data-id", |ids| ids == ["102", "103"]).await;
    wait_until("the server to cancel the call", || app.open_process_streams() == 0).await;
    let screenshot = page.screenshot(&format!("{}-connection-lost", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());

    // The user sends 102 again once the page is connected: a new session, which ships it alone.
    page.wait_for_attrs("#connection", "data-state", |state| state == ["connected"]).await;
    page.fill("#process-id", "102").await;
    page.click("#process-send").await;
    page.wait_for_attrs("#process-unconfirmed li", "data-id", |ids| ids == ["103"]).await;
    page.wait_for_attrs("#process-transport", "data-transport", |shown| shown == ["websocket"]).await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["open"]).await;
    page.click("#process-finish").await;
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["finished"]).await;
    let shipped = page.wait_for_text("#shipments", |text| !text.is_empty()).await;
    assert!(shipped.contains("102") && !shipped.contains("103"), "{shipped}");
    // Nothing went again by itself, over either transport: anything the page reopened when it
    // reconnected came before the user's session, which has now ended, and would be counted here.
    assert_eq!(started(&app, "processOrders"), 2, "the lost session and the user's new one, no other");
    assert_eq!(handled(&app, "processOrders", "Canceled"), 1);
    assert_eq!(handled(&app, "processOrders", "OK"), 1);
    assert_eq!(started(&app, "processOrdersOpen") + started(&app, "processOrdersSubmit"), 0);
    page.client.clone().close().await.expect("close the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_connection_mid_session_in_chromium() {
    losing_the_connection_mid_session(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_connection_mid_session_in_firefox() {
    losing_the_connection_mid_session(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_connection_mid_session_in_webkit() {
    losing_the_connection_mid_session(Browser::WebKit).await;
}
