//! What a processing session produced: `#process-pending` (ids waiting for their batch),
//! `#process-unconfirmed` (ids a broken session left without word) and `#shipments` (each
//! `.shipment` and `.rejection` in the order the server sent them).

use yew::prelude::*;

use crate::format;
use crate::state::Verdict;

#[derive(Properties, PartialEq)]
pub(crate) struct ShipmentsProps {
    pub(crate) pending: Vec<String>,
    pub(crate) unconfirmed: Vec<String>,
    pub(crate) outcomes: Vec<Verdict>,
}

fn outcome(outcome: &Verdict) -> Html {
    match outcome {
        Verdict::ShippedIds(shipment) => html! {
            <li class="shipment" data-id={shipment.id.clone()} data-destination={shipment.destination.clone()}>
                <div class="shipment-head">
                    <span class="shipment-id">{ &shipment.id }</span>
                    <span class="shipment-destination">{ &shipment.destination }</span>
                </div>
                <div class="shipment-body">
                    <span class="muted">{ if shipment.order_ids.len() == 1 { "Order " } else { "Orders " } }</span>
                    <span class="shipment-orders">{ format::joined(&shipment.order_ids) }</span>
                </div>
            </li>
        },
        Verdict::Rejection { id, reason } => html! {
            <li class="rejection" data-id={id.clone()}>
                <span class="rejection-id">{ if id.is_empty() { "(empty id)".to_string() } else { id.clone() } }</span>
                <span class="rejection-reason">{ format!("rejected: {reason}") }</span>
            </li>
        },
    }
}

#[component]
pub(crate) fn Shipments(props: &ShipmentsProps) -> Html {
    html! {
        <>
            <div class="pending">
                <h3>{ "Pending batch" }</h3>
                <ul id="process-pending" class="pending-ids">
                    { for props.pending.iter().enumerate().map(|(at, id)| html! {
                        <li key={format!("{at}-{id}")} data-id={id.clone()}>{ id }</li>
                    }) }
                </ul>
                if props.pending.is_empty() {
                    <p class="muted small">{ "Nothing waiting." }</p>
                }
            </div>
            if !props.unconfirmed.is_empty() {
                <div class="unconfirmed" role="status">
                    <h3>{ "Not confirmed" }</h3>
                    <p class="small">
                        { "The session broke before these were shipped or rejected. Nothing is sent again by itself: send an id again to have it processed in a new session." }
                    </p>
                    <ul id="process-unconfirmed" class="pending-ids">
                        { for props.unconfirmed.iter().map(|id| html! { <li key={id.clone()} data-id={id.clone()}>{ id }</li> }) }
                    </ul>
                </div>
            }
            <div class="outcomes">
                <h3>{ "Shipments" }</h3>
                <ol id="shipments" class="shipments">
                    { for props.outcomes.iter().map(outcome) }
                </ol>
                if props.outcomes.is_empty() {
                    <p class="muted small">{ "Shipments appear here as each batch fills, one per destination." }</p>
                }
            </div>
        </>
    }
}
