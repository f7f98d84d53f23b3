//! The release page in real headless browsers, driven over WebDriver, against
//! the real backend: list, search, add, update, and process orders.

use e2e::{Browser, Session, serve_page};

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

async fn the_whole_workflow(browser: Browser) {
    let (url, _app) = serve_page().await;
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

    // Update two at once; then an update with one bad order changes nothing.
    page.click("#orders tr.order-row[data-id='102'] button.edit").await;
    page.click("#orders tr.order-row[data-id='103'] button.edit").await;
    page.fill("#update-draft .draft[data-id='102'] input[name=price]", "1700").await;
    page.fill("#update-draft .draft[data-id='103'] input[name=price]", "350").await;
    page.click("#update-submit").await;
    page.wait_for_text("#update-result", |text| text.contains("102") && text.contains("103")).await;
    page.wait_for_text("#orders tr.order-row[data-id='102']", |text| text.contains("1700.00")).await;
    page.wait_for_text("#orders tr.order-row[data-id='103']", |text| text.contains("350.00")).await;

    page.click("#orders tr.order-row[data-id='104'] button.edit").await;
    page.click("#orders tr.order-row[data-id='105'] button.edit").await;
    page.fill("#update-draft .draft[data-id='104'] input[name=price]", "1").await;
    page.fill("#update-draft .draft[data-id='105'] input[name=price]", "-1").await;
    page.click("#update-submit").await;
    page.wait_for_text("#update-error", |text| text.contains("105")).await;
    let row_104 = page.wait_for_text("#orders tr.order-row[data-id='104']", |text| !text.is_empty()).await;
    assert!(row_104.contains("400.00"), "the refused update changed 104: {row_104}");

    // Process: 102, 103, 104 ship as two shipments before 101 is entered; 101 ships after Finish.
    for id in ["102", "103", "104"] {
        enter_id(&page, id).await;
    }
    let first = wait_for_shipments(&page, 2).await;
    assert_eq!(first, [pair("Mountain View, CA", "102, 104"), pair("San Jose, CA", "103")]);
    enter_id(&page, "999").await;
    page.wait_for_text("#shipments .rejection[data-id='999']", |text| text.contains("not found")).await;
    enter_id(&page, "101").await;
    page.wait_for_attrs("#process-pending li", "data-id", |ids| ids == ["101"]).await;
    assert_eq!(shipments(&page).await.len(), 2, "101 waits in the pending batch");
    page.click("#process-finish").await;
    let all = wait_for_shipments(&page, 3).await;
    assert_eq!(all[2], pair("San Jose, CA", "101"));
    page.wait_for_attrs("#process-state", "data-state", |state| state == ["finished"]).await;
    let transport = page.wait_for_text("#process-transport", |text| !text.is_empty()).await;
    println!("{}: processed over {transport}", browser.name());

    let screenshot = page.screenshot(&format!("{}-processing", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());
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
