//! `#write-token`: asks for the write token when the server refused a write, which goes again once
//! a token is saved. The token is read from `#write-token-input` when saved and never kept here.

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub(crate) struct WriteTokenFormProps {
    /// The server's refusal, or why the token typed cannot be sent.
    pub(crate) message: AttrValue,
    /// What saving retries, in words: `add order 101`.
    pub(crate) waiting: AttrValue,
    /// The token as typed.
    pub(crate) on_save: Callback<String>,
    pub(crate) on_cancel: Callback<()>,
}

#[component]
pub(crate) fn WriteTokenForm(props: &WriteTokenFormProps) -> Html {
    let input = use_node_ref();
    {
        let input = input.clone();
        use_effect_with((), move |_| {
            if let Some(field) = input.cast::<HtmlInputElement>() {
                let _ = field.focus();
            }
        });
    }
    let on_submit = {
        let input = input.clone();
        let on_save = props.on_save.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if let Some(field) = input.cast::<HtmlInputElement>() {
                on_save.emit(field.value());
            }
        })
    };
    let on_cancel = props.on_cancel.reform(|_: MouseEvent| ());
    let on_key = {
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                on_cancel.emit(());
            }
        })
    };
    html! {
        <div class="dialog-backdrop">
            <section id="write-token" class="card dialog" role="dialog" aria-modal="true"
                aria-labelledby="write-token-title" aria-describedby="write-token-message" onkeydown={on_key}>
                <h2 id="write-token-title">{ "Write token needed" }</h2>
                <form class="form" onsubmit={on_submit} novalidate=true>
                    <p id="write-token-message" class="error" role="alert">{ props.message.clone() }</p>
                    <label class="field">
                        <span class="field-label">{ "Write token" }</span>
                        <input id="write-token-input" ref={input} type="password" autocomplete="off"
                            autocapitalize="off" spellcheck="false" />
                    </label>
                    <p class="muted hint">
                        { format!("Saving sends it again: {}. ", props.waiting) }
                        { "The token is kept for this tab only, until it closes." }
                    </p>
                    <div class="form-actions">
                        <button id="write-token-save" type="submit" class="primary">{ "Save and retry" }</button>
                        <button id="write-token-cancel" type="button" onclick={on_cancel}>{ "Cancel" }</button>
                    </div>
                </form>
            </section>
        </div>
    }
}
