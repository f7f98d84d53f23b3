//! Edits in the update draft, in real headless browsers, read back with the
//! book's `getOrder`: a field the person left alone goes back exactly as it
//! was stored (items holding commas, quotes and non-ASCII; prices such as
//! 0.1, 19.999 and 1e7), and items are renamed, removed and added one by one.

use e2e::{Browser, Session, serve_page};
use ordermgt_proto::Order;
use ordermgt_proto::order_management_client::OrderManagementClient;
use tonic::transport::Channel;

/// Orders no form would make: items with commas, quotes, non-ASCII and padding, and prices that
/// two decimals cannot show.
fn awkward(id: &str, price: f32) -> Order {
    Order {
        id: id.into(),
        items: vec!["Cable, USB-C".into(), "Ünïcødé \"quoted\"".into(), " padded ".into()],
        description: "as stored".into(),
        price,
        destination: "Zürich, CH".into(),
    }
}

async fn client(url: &str) -> OrderManagementClient<Channel> {
    let channel = Channel::from_shared(url.to_string()).expect("url").connect().await.expect("connect");
    OrderManagementClient::new(channel)
}

async fn stored(url: &str, id: &str) -> Order {
    client(url).await.get_order(id.to_string()).await.expect("getOrder").into_inner()
}

/// The items a draft shows, one input each, once `done` accepts them.
async fn draft_items(page: &Session, draft: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    page.wait_for_props(&format!("{draft} li.draft-item input[name=item]"), "value", done).await
}

async fn edits_change_only_what_was_changed(browser: Browser) {
    let (url, _app) = serve_page().await;
    let orders = [awkward("edit-tenth", 0.1), awkward("edit-odd", 19.999), awkward("edit-big", 1e7)];
    for order in &orders {
        client(&url).await.add_order(order.clone()).await.expect("addOrder");
    }
    let page = Session::start(browser).await;
    page.client.goto(&url).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 8).await;

    // The description alone, edited in each draft; one update for the three.
    for order in &orders {
        page.click(&format!("#orders tr.order-row[data-id='{}'] button.edit", order.id)).await;
        let draft = format!("#update-draft .draft[data-id='{}']", order.id);
        let shown = draft_items(&page, &draft, |items| items.len() == 3).await;
        assert_eq!(shown, order.items, "{}: each item in an input of its own, as stored", browser.name());
        page.fill(&format!("{draft} input[name=description]"), "a new description").await;
    }
    page.click("#update-submit").await;
    page.wait_for_text("#update-result", |text| text.contains("edit-big")).await;
    for order in &orders {
        let now = stored(&url, &order.id).await;
        assert_eq!(now.description, "a new description");
        assert_eq!(now.items, order.items, "{}: {} kept its items", browser.name(), order.id);
        assert_eq!(
            now.price.to_bits(),
            order.price.to_bits(),
            "{}: {} kept its price {}",
            browser.name(),
            order.id,
            order.price
        );
        assert_eq!(now.destination, order.destination);
    }

    // The list editor: rename the second item, remove the first, add one with a comma.
    page.click("#orders tr.order-row[data-id='edit-odd'] button.edit").await;
    let draft = "#update-draft .draft[data-id='edit-odd']";
    draft_items(&page, draft, |items| items.len() == 3).await;
    page.fill(&format!("{draft} li.draft-item[data-index='1'] input[name=item]"), "Ünïcødé, renamed").await;
    page.click(&format!("{draft} li.draft-item[data-index='0'] button.remove-item")).await;
    page.click(&format!("{draft} button.add-item")).await;
    let items = draft_items(&page, draft, |items| items.len() == 3 && items[2].is_empty()).await;
    assert_eq!(
        items[..2],
        ["Ünïcødé, renamed", " padded "],
        "{}: the first removed, the second renamed",
        browser.name()
    );
    page.fill(&format!("{draft} li.draft-item[data-index='2'] input[name=item]"), "Adapter, \"USB-A\"").await;
    let screenshot = page.screenshot(&format!("{}-draft-items", browser.name())).await;
    println!("{}: the draft's item list at {}", browser.name(), screenshot.display());
    page.click("#update-submit").await;
    page.wait_for_text("#update-result", |text| text.contains("edit-odd")).await;
    let now = stored(&url, "edit-odd").await;
    assert_eq!(now.items, ["Ünïcødé, renamed", " padded ", "Adapter, \"USB-A\""], "{}", browser.name());
    assert_eq!(now.price.to_bits(), 19.999f32.to_bits(), "{}: the price, untouched, is still 19.999", browser.name());
    page.client.clone().close().await.expect("close the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_change_only_what_was_changed_in_chromium() {
    edits_change_only_what_was_changed(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_change_only_what_was_changed_in_firefox() {
    edits_change_only_what_was_changed(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_change_only_what_was_changed_in_webkit() {
    edits_change_only_what_was_changed(Browser::WebKit).await;
}
