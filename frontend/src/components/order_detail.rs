//! `#order-detail`: the order clicked in the table, as `getOrder` returns it.

use yew::prelude::*;

use crate::format;
use crate::state::Detail;

#[derive(Properties, PartialEq)]
pub(crate) struct OrderDetailProps {
    pub(crate) detail: Detail,
    pub(crate) on_close: Callback<()>,
}

#[component]
pub(crate) fn OrderDetail(props: &OrderDetailProps) -> Html {
    let Some(id) = props.detail.id() else {
        return html! {};
    };
    let body = match &props.detail {
        Detail::Closed => html! {},
        Detail::Loading(_) => html! { <p class="muted">{ "Loading…" }</p> },
        Detail::Failed { message, .. } => html! { <p class="error" role="alert">{ message }</p> },
        Detail::Loaded(order) => html! {
            <dl class="detail-list">
                <dt>{ "Items" }</dt>
                <dd>
                    <ul class="items">{ for order.items.iter().map(|item| html! { <li>{ item }</li> }) }</ul>
                </dd>
                <dt>{ "Description" }</dt>
                <dd>{ if order.description.is_empty() { "—" } else { &order.description } }</dd>
                <dt>{ "Price" }</dt>
                <dd class="price">{ format::price(order.price) }</dd>
                <dt>{ "Destination" }</dt>
                <dd>{ &order.destination }</dd>
            </dl>
        },
    };
    let on_close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <aside id="order-detail" class="detail" data-id={id.to_string()} aria-live="polite">
            <div class="detail-head">
                <h3>{ format!("Order {id}") }</h3>
                <button type="button" class="ghost close" onclick={on_close} aria-label="Close the order">{ "×" }</button>
            </div>
            { body }
        </aside>
    }
}
