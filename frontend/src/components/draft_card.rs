//! One order of the update draft: `.draft[data-id]` with its four fields and a remove button.

use yew::prelude::*;

use super::text_field::TextField;
use crate::parse::{OrderField, OrderText};
use crate::state::DraftEdit;

#[derive(Properties, PartialEq)]
pub(crate) struct DraftCardProps {
    pub(crate) draft: OrderText,
    pub(crate) on_change: Callback<DraftEdit>,
    pub(crate) on_remove: Callback<String>,
}

#[component]
pub(crate) fn DraftCard(props: &DraftCardProps) -> Html {
    let id = props.draft.id.clone();
    let field = |field: OrderField| {
        let id = id.clone();
        props.on_change.reform(move |value: String| DraftEdit { id: id.clone(), field, value })
    };
    let on_remove = {
        let id = id.clone();
        props.on_remove.reform(move |_: MouseEvent| id.clone())
    };
    html! {
        <li class="draft" data-id={id.clone()}>
            <div class="draft-head">
                <h3>{ format!("Order {id}") }</h3>
                <button type="button" class="ghost remove" onclick={on_remove}
                    aria-label={format!("Remove order {id} from the draft")}>{ "Remove" }</button>
            </div>
            <TextField name="items" label="Items, comma-separated" value={props.draft.items.clone()}
                on_change={field(OrderField::Items)} />
            <TextField name="description" label="Description" value={props.draft.description.clone()}
                on_change={field(OrderField::Description)} />
            <div class="form-row">
                <TextField name="price" label="Price" inputmode="decimal" value={props.draft.price.clone()}
                    on_change={field(OrderField::Price)} />
                <TextField name="destination" label="Destination" value={props.draft.destination.clone()}
                    on_change={field(OrderField::Destination)} />
            </div>
        </li>
    }
}
