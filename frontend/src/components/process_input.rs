//! Where ids enter a processing session: `#process-id` with `#process-send`, and one
//! `button.process-chip` per listed order.

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub(crate) struct ProcessInputProps {
    /// The ids of the listed orders, offered as chips.
    pub(crate) chips: Vec<String>,
    /// False while a session is finishing: ids wait until it has ended.
    pub(crate) enabled: bool,
    pub(crate) on_send: Callback<String>,
}

#[component]
pub(crate) fn ProcessInput(props: &ProcessInputProps) -> Html {
    let input = use_node_ref();
    // Read from the element when sent, so that what is on screen is what goes.
    let send = {
        let input = input.clone();
        let on_send = props.on_send.clone();
        move || {
            if let Some(field) = input.cast::<HtmlInputElement>() {
                let id = field.value().trim().to_string();
                if !id.is_empty() {
                    on_send.emit(id);
                    field.set_value("");
                }
            }
        }
    };
    let on_submit = {
        let send = send.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            send();
        })
    };
    let chips = props.chips.iter().map(|id| {
        let on_click = {
            let id = id.clone();
            props.on_send.reform(move |_: MouseEvent| id.clone())
        };
        html! {
            <li key={id.clone()}>
                <button type="button" class="process-chip" data-id={id.clone()} onclick={on_click}
                    disabled={!props.enabled} title={format!("Send order {id}")}>{ id }</button>
            </li>
        }
    });
    html! {
        <div class="process-input">
            <form class="inline-form" onsubmit={on_submit}>
                <label class="field grow">
                    <span class="field-label">{ "Order id" }</span>
                    <input id="process-id" ref={input} type="text" autocomplete="off" inputmode="numeric"
                        placeholder="e.g. 102, then Enter" />
                </label>
                <button id="process-send" type="submit" class="primary" disabled={!props.enabled}>{ "Send" }</button>
            </form>
            if !props.chips.is_empty() {
                <ul class="chips" aria-label="Send a listed order">{ for chips }</ul>
            }
        </div>
    }
}
