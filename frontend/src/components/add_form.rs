//! The add form: `#add-id` … `#add-submit`, with `#add-error` and `#add-result` beside it.

use yew::prelude::*;

use super::text_field::TextField;
use crate::parse::{OrderField, OrderText};
use crate::state::Status;

#[derive(Properties, PartialEq)]
pub(crate) struct AddFormProps {
    pub(crate) form: OrderText,
    /// Loaded with the new order's id.
    pub(crate) status: Status<String>,
    pub(crate) on_change: Callback<(OrderField, String)>,
    pub(crate) on_submit: Callback<OrderText>,
}

#[component]
pub(crate) fn AddForm(props: &AddFormProps) -> Html {
    let field = |field: OrderField| props.on_change.reform(move |value: String| (field, value));
    let on_submit = {
        let on_submit = props.on_submit.clone();
        let form = props.form.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_submit.emit(form.clone());
        })
    };
    let busy = props.status.is_loading();
    let (error, result) = match &props.status {
        Status::Failed(message) => (message.clone(), String::new()),
        Status::Loaded(id) => (String::new(), format!("Added order {id}.")),
        Status::Idle | Status::Loading => (String::new(), String::new()),
    };
    html! {
        <section class="card add-card" aria-labelledby="add-title">
            <h2 id="add-title">{ "Add an order" }</h2>
            <form class="form" onsubmit={on_submit} novalidate=true>
                <div class="form-row">
                    <TextField id="add-id" label="Id (optional)" value={props.form.id.clone()}
                        placeholder="a fresh id if empty" on_change={field(OrderField::Id)} />
                    <TextField id="add-price" label="Price" value={props.form.price.clone()}
                        placeholder="e.g. 2300" inputmode="decimal" on_change={field(OrderField::Price)} />
                </div>
                <TextField id="add-items" label="Items, one per line" rows={3} value={props.form.items.clone()}
                    placeholder={"iPhone XS\nMac Book Pro"} on_change={field(OrderField::Items)} />
                <TextField id="add-description" label="Description" value={props.form.description.clone()}
                    on_change={field(OrderField::Description)} />
                <TextField id="add-destination" label="Destination" value={props.form.destination.clone()}
                    placeholder="e.g. San Jose, CA" on_change={field(OrderField::Destination)} />
                <div class="form-actions">
                    <button id="add-submit" type="submit" class="primary" disabled={busy}>
                        { if busy { "Adding…" } else { "Add order" } }
                    </button>
                    <p id="add-result" class="result" role="status">{ result }</p>
                </div>
                <p id="add-error" class="error" role="alert">{ error }</p>
            </form>
        </section>
    }
}
