//! `#connection`: whether the server answers.

use yew::prelude::*;

use crate::state::Connection;

#[derive(Properties, PartialEq)]
pub(crate) struct ConnectionBadgeProps {
    pub(crate) connection: Connection,
}

#[component]
pub(crate) fn ConnectionBadge(props: &ConnectionBadgeProps) -> Html {
    let state = props.connection.data_state();
    html! {
        <div id="connection" class={classes!("connection", state)} data-state={state} role="status" aria-live="polite">
            <span class="dot" aria-hidden="true"></span>
            <span>{ props.connection.label() }</span>
        </div>
    }
}
