//! One order of the update draft: `.draft[data-id]` with its items, one input
//! each (`.draft-items li.draft-item`, renamed, removed, or added with
//! `button.add-item`), its three other fields and a remove button.

use yew::prelude::*;

use super::text_field::TextField;
use crate::draft::{Draft, DraftChange};
use crate::parse::OrderField;
use crate::state::DraftEdit;

#[derive(Properties, PartialEq)]
pub(crate) struct DraftCardProps {
    pub(crate) draft: Draft,
    pub(crate) on_change: Callback<DraftEdit>,
    pub(crate) on_remove: Callback<String>,
}

#[component]
pub(crate) fn DraftCard(props: &DraftCardProps) -> Html {
    let id = props.draft.id().to_string();
    let edit = |change: DraftChange| DraftEdit { id: id.clone(), change };
    let field = |field: OrderField| {
        let id = id.clone();
        props
            .on_change
            .reform(move |value: String| DraftEdit { id: id.clone(), change: DraftChange::Field(field, value) })
    };
    let on_remove = {
        let id = id.clone();
        props.on_remove.reform(move |_: MouseEvent| id.clone())
    };
    let items = props.draft.items.iter().enumerate().map(|(index, item)| {
        let rename = {
            let id = id.clone();
            props
                .on_change
                .reform(move |value: String| DraftEdit { id: id.clone(), change: DraftChange::Item(index, value) })
        };
        let remove = {
            let removed = edit(DraftChange::RemoveItem(index));
            props.on_change.reform(move |_: MouseEvent| removed.clone())
        };
        let number = index + 1;
        html! {
            <li class="draft-item" key={index} data-index={index.to_string()}>
                <TextField name="item" label={format!("Item {number}")} value={item.clone()} on_change={rename} />
                <button type="button" class="ghost remove-item" onclick={remove}
                    aria-label={format!("Remove item {number} of order {id}")}>{ "Remove" }</button>
            </li>
        }
    });
    let on_add_item = {
        let added = edit(DraftChange::AddItem);
        props.on_change.reform(move |_: MouseEvent| added.clone())
    };
    html! {
        <li class="draft" data-id={id.clone()}>
            <div class="draft-head">
                <h3>{ format!("Order {id}") }</h3>
                <button type="button" class="ghost remove" onclick={on_remove}
                    aria-label={format!("Remove order {id} from the draft")}>{ "Remove" }</button>
            </div>
            <fieldset class="draft-items-field">
                <legend class="field-label">{ "Items" }</legend>
                <ol class="draft-items">{ for items }</ol>
                <button type="button" class="ghost add-item" onclick={on_add_item}
                    aria-label={format!("Add an item to order {id}")}>{ "Add item" }</button>
            </fieldset>
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
