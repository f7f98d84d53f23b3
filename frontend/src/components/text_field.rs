//! A labelled text input (or textarea) that reports every change of its value.

use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub(crate) struct TextFieldProps {
    pub(crate) label: AttrValue,
    pub(crate) value: AttrValue,
    pub(crate) on_change: Callback<String>,
    /// The element's `id`, if it has one.
    #[prop_or_default]
    pub(crate) id: Option<AttrValue>,
    /// The element's `name`, if it has one.
    #[prop_or_default]
    pub(crate) name: Option<AttrValue>,
    #[prop_or_default]
    pub(crate) placeholder: Option<AttrValue>,
    /// `inputmode`, for the right keyboard on phones (e.g. `decimal`).
    #[prop_or_default]
    pub(crate) inputmode: Option<AttrValue>,
    /// A textarea of this many rows instead of a one-line input.
    #[prop_or_default]
    pub(crate) rows: Option<u32>,
}

/// The value of the input or textarea an event came from.
fn value_of(event: &Event) -> Option<String> {
    if let Some(input) = event.target_dyn_into::<HtmlInputElement>() {
        return Some(input.value());
    }
    event.target_dyn_into::<HtmlTextAreaElement>().map(|area| area.value())
}

#[component]
pub(crate) fn TextField(props: &TextFieldProps) -> Html {
    // `change` as well as `input`: clearing a field from a script or WebDriver fires only `change`.
    let on_input = {
        let on_change = props.on_change.clone();
        Callback::from(move |event: InputEvent| {
            if let Some(value) = value_of(&event) {
                on_change.emit(value);
            }
        })
    };
    let on_changed = {
        let on_change = props.on_change.clone();
        Callback::from(move |event: Event| {
            if let Some(value) = value_of(&event) {
                on_change.emit(value);
            }
        })
    };
    let control = match props.rows {
        Some(rows) => html! {
            <textarea
                id={props.id.clone()}
                name={props.name.clone()}
                rows={rows.to_string()}
                placeholder={props.placeholder.clone()}
                value={props.value.clone()}
                oninput={on_input}
                onchange={on_changed}
            />
        },
        None => html! {
            <input
                type="text"
                id={props.id.clone()}
                name={props.name.clone()}
                placeholder={props.placeholder.clone()}
                inputmode={props.inputmode.clone()}
                autocomplete="off"
                value={props.value.clone()}
                oninput={on_input}
                onchange={on_changed}
            />
        },
    };
    html! {
        <label class="field">
            <span class="field-label">{ props.label.clone() }</span>
            { control }
        </label>
    }
}
