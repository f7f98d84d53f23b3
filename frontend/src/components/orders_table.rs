//! `#orders`: the orders of the current search as they stream in, a page of
//! [`PAGE_ROWS`] `tr.order-row` at a time, with `#orders-pager` to move
//! through the rest (the DOM holds one page however many orders there are).

use ordermgt_proto::Order;
use yew::prelude::*;

use crate::format;
use crate::state::{PAGE_ROWS, Rows, Status};

#[derive(Properties, PartialEq)]
pub(crate) struct OrdersTableProps {
    pub(crate) rows: Rows,
    /// The page shown, from 0.
    pub(crate) page: usize,
    pub(crate) status: Status<usize>,
    pub(crate) query: AttrValue,
    /// The order in the detail panel.
    pub(crate) selected: Option<AttrValue>,
    /// Ids in the update draft.
    pub(crate) drafted: Vec<String>,
    /// A row was clicked: show that order.
    pub(crate) on_select: Callback<String>,
    /// A row's Edit button: add the order to the update draft.
    pub(crate) on_edit: Callback<Order>,
    /// A pager button: show that page.
    pub(crate) on_page: Callback<usize>,
}

fn status_text(status: &Status<usize>, query: &str, shown: usize) -> String {
    match status {
        Status::Idle => String::new(),
        Status::Loading if shown == 0 => "Loading…".to_string(),
        Status::Loading => format!("Loading… {} so far", format::count(shown)),
        Status::Loaded(count) if query.is_empty() => format::order_count(*count),
        Status::Loaded(count) => format!("{} with an item matching “{query}”", format::order_count(*count)),
        Status::Failed(message) => format!("Search failed: {message}"),
    }
}

/// Sets `attribute` on `element` to the page's clock, the first time `reached` is true.
#[hook]
fn use_stamp(element: &NodeRef, attribute: &'static str, reached: bool) {
    let stamped = use_mut_ref(|| false);
    let element = element.clone();
    use_effect_with(reached, move |reached| {
        if *reached && !*stamped.borrow() {
            *stamped.borrow_mut() = true;
            let now = web_sys::window().and_then(|window| window.performance()).map(|clock| clock.now());
            if let (Some(element), Some(now)) = (element.cast::<web_sys::Element>(), now) {
                let _ = element.set_attribute(attribute, &format!("{now:.0}"));
            }
        }
    });
}

#[component]
pub(crate) fn OrdersTable(props: &OrdersTableProps) -> Html {
    let table = use_node_ref();
    // Stamped on `#orders` once each, in ms after navigation start: when the first row is on
    // screen, and when the first search has every row (the e2e tests report them).
    use_stamp(&table, "data-first-row-ms", !props.rows.is_empty());
    use_stamp(&table, "data-loaded-ms", matches!(props.status, Status::Loaded(_)));

    let failed = matches!(props.status, Status::Failed(_));
    let rows = props.rows.range(props.page * PAGE_ROWS, PAGE_ROWS).map(|order| {
        let id = order.id.clone();
        let on_select = props.on_select.reform(move |_: MouseEvent| id.clone());
        let on_edit = {
            let on_edit = props.on_edit.clone();
            let order = order.clone();
            Callback::from(move |event: MouseEvent| {
                // The row behind the button opens the detail; this click is the button's alone.
                event.stop_propagation();
                on_edit.emit(order.clone());
            })
        };
        let on_key = {
            let on_select = props.on_select.clone();
            let id = order.id.clone();
            Callback::from(move |event: KeyboardEvent| {
                if event.key() == "Enter" && event.target() == event.current_target() {
                    on_select.emit(id.clone());
                }
            })
        };
        let selected = props.selected.as_deref() == Some(order.id.as_str());
        let drafted = props.drafted.contains(&order.id);
        html! {
            <tr key={order.id.clone()} class={classes!("order-row", selected.then_some("selected"))}
                data-id={order.id.clone()} tabindex="0" onclick={on_select} onkeydown={on_key}>
                // Generated ids are long UUIDs: shortened on screen, whole in the tooltip and the detail.
                <td class="col-id"><span class="id-text" title={order.id.clone()}>{ &order.id }</span></td>
                // One element an item, so that an item holding a comma still reads as one.
                <td class="col-items">
                    <ul class="item-list">{ for order.items.iter().enumerate().map(|(index, item)| html! {
                        // The separator is an element of its own: WebKit leaves an `li + li::before`
                        // off rows inserted at the top of the table.
                        <li>
                            if index > 0 { <span class="item-separator" aria-hidden="true">{ " · " }</span> }
                            { item }
                        </li>
                    }) }</ul>
                </td>
                <td class="col-destination">{ &order.destination }</td>
                <td class="col-price">{ format::price(order.price) }</td>
                <td class="col-actions">
                    <button type="button" class="edit" onclick={on_edit} disabled={drafted}
                        title={if drafted { "Already in the update draft" } else { "Add to the update draft" }}>
                        { if drafted { "In draft" } else { "Edit" } }
                    </button>
                </td>
            </tr>
        }
    });
    html! {
        <div class="orders">
            <div class="orders-bar">
                <p id="orders-status" class={classes!("status-line", failed.then_some("error"))} role="status">
                    { status_text(&props.status, &props.query, props.rows.len()) }
                </p>
                { pager(props) }
            </div>
            <div class="table-wrap">
                <table id="orders" ref={table}>
                    <thead>
                        <tr>
                            <th class="col-id" scope="col">{ "Id" }</th>
                            <th class="col-items" scope="col">{ "Items" }</th>
                            <th class="col-destination" scope="col">{ "Destination" }</th>
                            <th class="col-price" scope="col">{ "Price" }</th>
                            <th class="col-actions" scope="col"><span class="visually-hidden">{ "Actions" }</span></th>
                        </tr>
                    </thead>
                    <tbody>{ for rows }</tbody>
                </table>
            </div>
        </div>
    }
}

/// `#orders-pager`, once the rows fill more than one page: which rows are shown, and buttons to
/// the first, previous, next and last page.
fn pager(props: &OrdersTableProps) -> Html {
    let total = props.rows.len();
    if total <= PAGE_ROWS {
        return Html::default();
    }
    let pages = total.div_ceil(PAGE_ROWS);
    let page = props.page.min(pages - 1);
    let first_row = page * PAGE_ROWS + 1;
    let last_row = (first_row + PAGE_ROWS - 1).min(total);
    let go = |id: &'static str, label: &'static str, text: &'static str, to: usize, enabled: bool| {
        let onclick = props.on_page.reform(move |_: MouseEvent| to);
        html! {
            <button type="button" id={id} class="ghost pager-button" aria-label={label} disabled={!enabled} {onclick}>
                { text }
            </button>
        }
    };
    html! {
        <nav id="orders-pager" class="pager" aria-label="Pages of orders">
            { go("orders-first", "First page", "«", 0, page > 0) }
            { go("orders-prev", "Previous page", "‹", page.saturating_sub(1), page > 0) }
            <span id="orders-range" class="pager-range" data-page={page.to_string()}>
                { format!("{}–{} of {}", format::count(first_row), format::count(last_row), format::count(total)) }
            </span>
            { go("orders-next", "Next page", "›", page + 1, page + 1 < pages) }
            { go("orders-last", "Last page", "»", pages - 1, page + 1 < pages) }
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_reads_as_words() {
        assert_eq!(status_text(&Status::Loading, "", 0), "Loading…");
        assert_eq!(status_text(&Status::Loaded(5), "", 5), "5 orders");
        assert_eq!(status_text(&Status::Loaded(2), "google", 2), "2 orders with an item matching “google”");
        assert_eq!(
            status_text(&Status::Failed("Cannot reach the server".into()), "", 0),
            "Search failed: Cannot reach the server"
        );
    }
}
