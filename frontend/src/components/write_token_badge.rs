//! `#write-token-held`: shown while the tab holds a write token, with `#write-token-forget`.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub(crate) struct WriteTokenBadgeProps {
    /// Whether the tab holds a token.
    pub(crate) held: bool,
    pub(crate) on_forget: Callback<()>,
}

#[component]
pub(crate) fn WriteTokenBadge(props: &WriteTokenBadgeProps) -> Html {
    if !props.held {
        return html! {};
    }
    let on_forget = props.on_forget.reform(|_: MouseEvent| ());
    html! {
        <div id="write-token-held" class="token-held">
            <span>{ "Write token held" }</span>
            <button id="write-token-forget" type="button" class="ghost" onclick={on_forget}
                title="Forget the write token: the next change asks for it again">{ "Forget" }</button>
        </div>
    }
}
