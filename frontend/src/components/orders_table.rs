//! `#orders`: the orders of the current search, one `tr.order-row` per order as it streams in.

use ordermgt_proto::Order;
use yew::prelude::*;

use crate::format;
use crate::state::Status;

#[derive(Properties, PartialEq)]
pub(crate) struct OrdersTableProps {
    pub(crate) rows: Vec<Order>,
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
}

fn status_text(status: &Status<usize>, query: &str, shown: usize) -> String {
    match status {
        Status::Idle => String::new(),
        Status::Loading if shown == 0 => "Loading…".to_string(),
        Status::Loading => format!("Loading… {shown} so far"),
        Status::Loaded(count) if query.is_empty() => format::order_count(*count),
        Status::Loaded(count) => format!("{} with an item matching “{query}”", format::order_count(*count)),
        Status::Failed(message) => format!("Search failed: {message}"),
    }
}

#[component]
pub(crate) fn OrdersTable(props: &OrdersTableProps) -> Html {
    let table = use_node_ref();
    // Time to first row: stamped on `#orders` once, after the first row is on screen.
    let stamped = use_mut_ref(|| false);
    {
        let table = table.clone();
        use_effect_with(!props.rows.is_empty(), move |has_rows| {
            if *has_rows && !*stamped.borrow() {
                *stamped.borrow_mut() = true;
                let now = web_sys::window().and_then(|window| window.performance()).map(|clock| clock.now());
                if let (Some(element), Some(now)) = (table.cast::<web_sys::Element>(), now) {
                    let _ = element.set_attribute("data-first-row-ms", &format!("{now:.0}"));
                }
            }
        });
    }

    let failed = matches!(props.status, Status::Failed(_));
    let rows = props.rows.iter().map(|order| {
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
                <td class="col-items">{ format::joined(&order.items) }</td>
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
            <p id="orders-status" class={classes!("status-line", failed.then_some("error"))} role="status">
                { status_text(&props.status, &props.query, props.rows.len()) }
            </p>
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
