//! `#update-draft`: orders being edited, sent together as one all-or-nothing update.

use yew::prelude::*;

use super::draft_card::DraftCard;
use crate::draft::Draft;
use crate::state::{DraftEdit, Status};

#[derive(Properties, PartialEq)]
pub(crate) struct UpdateDraftProps {
    pub(crate) drafts: Vec<Draft>,
    /// Loaded with the server's reply.
    pub(crate) status: Status<String>,
    pub(crate) on_change: Callback<DraftEdit>,
    pub(crate) on_remove: Callback<String>,
    pub(crate) on_submit: Callback<Vec<Draft>>,
}

#[component]
pub(crate) fn UpdateDraft(props: &UpdateDraftProps) -> Html {
    let on_submit = {
        let on_submit = props.on_submit.clone();
        let drafts = props.drafts.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if !drafts.is_empty() {
                on_submit.emit(drafts.clone());
            }
        })
    };
    let busy = props.status.is_loading();
    let (error, result) = match &props.status {
        Status::Failed(message) => (format!("Nothing was updated: {message}"), String::new()),
        Status::Loaded(reply) => (String::new(), reply.clone()),
        Status::Idle | Status::Loading => (String::new(), String::new()),
    };
    let count = props.drafts.len();
    let label = match (busy, count) {
        (true, _) => "Updating…".to_string(),
        (false, 0) => "Update orders".to_string(),
        (false, 1) => "Update 1 order".to_string(),
        (false, n) => format!("Update {n} orders"),
    };
    html! {
        <section class="card update-card" aria-labelledby="update-title">
            <h2 id="update-title">{ "Update orders" }</h2>
            <form class="form" onsubmit={on_submit} novalidate=true>
                <ul id="update-draft" class="drafts">
                    { for props.drafts.iter().map(|draft| html! {
                        <DraftCard key={draft.id().to_string()} draft={draft.clone()}
                            on_change={props.on_change.clone()} on_remove={props.on_remove.clone()} />
                    }) }
                </ul>
                if props.drafts.is_empty() {
                    <p class="muted hint">{ "Press Edit on an order to change it here; every order of the draft is updated at once, or none is." }</p>
                }
                <div class="form-actions">
                    <button id="update-submit" type="submit" class="primary" disabled={busy || count == 0}>
                        { label }
                    </button>
                    <p id="update-result" class="result" role="status">{ result }</p>
                </div>
                <p id="update-error" class="error" role="alert">{ error }</p>
            </form>
        </section>
    }
}
