//! `#search`: filters the orders by item as the user types (or at once on Enter).

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub(crate) struct SearchBoxProps {
    /// The query changed while typing: search once typing pauses.
    pub(crate) on_type: Callback<String>,
    /// Enter, or a change committed at once: search now.
    pub(crate) on_search: Callback<String>,
}

#[component]
pub(crate) fn SearchBox(props: &SearchBoxProps) -> Html {
    let on_input = {
        let on_type = props.on_type.clone();
        Callback::from(move |event: InputEvent| on_type.emit(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_change = {
        let on_type = props.on_type.clone();
        Callback::from(move |event: Event| on_type.emit(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_keydown = {
        let on_search = props.on_search.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" {
                event.prevent_default();
                on_search.emit(event.target_unchecked_into::<HtmlInputElement>().value());
            }
        })
    };
    html! {
        <label class="search">
            <span class="visually-hidden">{ "Search orders by item" }</span>
            <input
                id="search"
                type="search"
                placeholder="Search items, e.g. Google"
                autocomplete="off"
                oninput={on_input}
                onchange={on_change}
                onkeydown={on_keydown}
            />
        </label>
    }
}
