//! Write access from the page, in real headless browsers against a server with a write token:
//! a refused write asks for the token, a wrong one is refused again, the right one sends the
//! write and is kept for the tab (in `sessionStorage` only) for the writes that follow; a refused
//! write of a megabyte asks for the token as well, every time (its answer is not lost to a reset).

use backend::App;
use backend::auth::{WriteAccess, WriteToken};
use e2e::{Browser, Session, handled, page_config, serve_app};
use serde_json::Value;

const TOKEN: &str = "e2e-write-token-5f1c";
const STORAGE_KEY: &str = "ordermgt.write-token";

/// Where the page could have put the token: `sessionStorage` under our key, every `localStorage`
/// entry as `key=value`, and the cookies.
async fn kept(page: &Session) -> (Option<String>, Vec<String>, String) {
    let script = r#"
        const local = [];
        for (let i = 0; i < localStorage.length; i++) {
            const key = localStorage.key(i);
            local.push(key + "=" + localStorage.getItem(key));
        }
        return [sessionStorage.getItem(arguments[0]), local, document.cookie];
    "#;
    let found = page.client.execute(script, vec![Value::from(STORAGE_KEY)]).await.expect("read the storages");
    let session = found[0].as_str().map(str::to_string);
    let local = found[1].as_array().into_iter().flatten().filter_map(|entry| entry.as_str().map(str::to_string));
    (session, local.collect(), found[2].as_str().unwrap_or_default().to_string())
}

async fn fill_add_form(page: &Session, id: &str) {
    page.fill("#add-id", id).await;
    page.fill("#add-items", "iPhone XS\nMac Book Pro").await;
    page.fill("#add-price", "2300").await;
    page.fill("#add-destination", "San Jose, CA").await;
}

async fn writing_with_a_token(browser: Browser) {
    let access = WriteAccess::new(Some(WriteToken::new(TOKEN).expect("a valid token")));
    let (url, app) = serve_app(App::in_memory(&page_config()).with_write_access(access)).await;
    let page = Session::start(browser).await;
    page.client.goto(&url).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    assert!(page.all("#write-token-held").await.is_empty(), "a new tab holds no token");

    // Adding without a token: the server refuses, and the page asks for the token.
    fill_add_form(&page, "101").await;
    page.click("#add-submit").await;
    page.find("#write-token").await;
    page.wait_for_text("#write-token-message", |text| {
        text.contains("addOrder") && text.contains("needs the write token")
    })
    .await;
    let input = page.find("#write-token-input").await;
    assert_eq!(input.attr("type").await.expect("type").as_deref(), Some("password"));
    assert_eq!(input.attr("autocomplete").await.expect("autocomplete").as_deref(), Some("off"));

    // A wrong token: refused with the server's message, and not kept.
    page.fill("#write-token-input", "not-the-token").await;
    page.click("#write-token-save").await;
    page.wait_for_text("#write-token-message", |text| text.contains("not the right one")).await;
    assert_eq!(kept(&page).await.0, None, "a refused token is dropped");
    let screenshot = page.screenshot(&format!("{}-write-token", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());
    let listed = page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| !ids.is_empty()).await;
    assert!(!listed.contains(&"101".to_string()), "a refused add added {listed:?}");

    // The right token: the add goes again by itself, and the order is listed.
    page.fill("#write-token-input", TOKEN).await;
    page.click("#write-token-save").await;
    page.wait_for_text("#add-result", |text| text.contains("101")).await;
    page.wait_until_gone("#write-token").await;
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.first().is_some_and(|id| id == "101")).await;
    page.find("#write-token-forget").await;

    // An update now goes through without asking again: the token travels as the WebSocket
    // call's `authorization` metadata, as it does in a gRPC-Web call's headers.
    page.click("#orders tr.order-row[data-id='102'] button.edit").await;
    page.fill("#update-draft .draft[data-id='102'] input[name=price]", "1700").await;
    page.click("#update-submit").await;
    page.wait_for_text("#update-result", |text| text.contains("102")).await;
    assert!(page.all("#write-token").await.is_empty(), "the update asked for the token again");
    assert_eq!(handled(&app, "updateOrders", "OK"), 1, "the update went as updateOrders, over the WebSocket");
    page.wait_for_text("#orders tr.order-row[data-id='102']", |text| text.contains("1700.00")).await;
    let screenshot = page.screenshot(&format!("{}-write-token-held", browser.name())).await;
    println!("{}: screenshot at {}", browser.name(), screenshot.display());

    // The token is kept in this tab's sessionStorage, and nowhere else the page can reach.
    let (session, local, cookies) = kept(&page).await;
    assert_eq!(session.as_deref(), Some(TOKEN));
    assert!(local.iter().all(|entry| !entry.contains(TOKEN)), "the token is in localStorage: {local:?}");
    assert!(!cookies.contains(TOKEN), "the token is in a cookie");

    // A reload of the tab keeps it; Forget drops it.
    page.client.refresh().await.expect("reload");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 6).await;
    page.click("#write-token-forget").await;
    page.wait_until_gone("#write-token-held").await;
    assert_eq!(kept(&page).await.0, None, "a forgotten token is dropped");

    // Cancel leaves the write failed, its refusal shown beside the form.
    fill_add_form(&page, "107").await;
    page.click("#add-submit").await;
    page.find("#write-token").await;
    page.click("#write-token-cancel").await;
    page.wait_until_gone("#write-token").await;
    page.wait_for_text("#add-error", |text| text.contains("needs the write token")).await;
    let listed = page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 6).await;
    assert!(!listed.contains(&"107".to_string()), "a cancelled add added {listed:?}");

    page.client.clone().close().await.expect("close the browser");
}

/// A refused write of a megabyte: the server answers before it has read the
/// body the browser is still sending, and the answer must reach the page
/// whole (not "Failed to fetch" from a reset connection), every time.
async fn a_refused_megabyte_write_asks_for_the_token(browser: Browser) {
    let access = WriteAccess::new(Some(WriteToken::new(TOKEN).expect("a valid token")));
    let (url, app) = serve_app(App::in_memory(&page_config()).with_write_access(access)).await;
    let page = Session::start(browser).await;
    page.client.goto(&url).await.expect("open the page");
    page.wait_for_attrs("#orders tr.order-row", "data-id", |ids| ids.len() == 5).await;
    for attempt in 0..3 {
        fill_add_form(&page, &format!("big-{attempt}")).await;
        // A megabyte typed key by key would take minutes: set it as an input event does.
        let set = "const field = document.querySelector('#add-description');
                   field.value = 'd'.repeat(1 << 20);
                   field.dispatchEvent(new Event('input', { bubbles: true }));";
        page.client.execute(set, vec![]).await.expect("set the description");
        page.click("#add-submit").await;
        page.wait_for_text("#write-token-message", |text| text.contains("needs the write token")).await;
        page.click("#write-token-cancel").await;
        page.wait_until_gone("#write-token").await;
        page.wait_for_text("#add-error", |text| text.contains("needs the write token")).await;
    }
    assert_eq!(handled(&app, "addOrder", "Unauthenticated"), 3, "each refusal reached the page");
    page.client.clone().close().await.expect("close the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_megabyte_write_asks_for_the_token_in_chromium() {
    a_refused_megabyte_write_asks_for_the_token(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_megabyte_write_asks_for_the_token_in_firefox() {
    a_refused_megabyte_write_asks_for_the_token(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_with_a_token_in_chromium() {
    writing_with_a_token(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_with_a_token_in_firefox() {
    writing_with_a_token(Browser::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_megabyte_write_asks_for_the_token_in_webkit() {
    a_refused_megabyte_write_asks_for_the_token(Browser::WebKit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_with_a_token_in_webkit() {
    writing_with_a_token(Browser::WebKit).await;
}
