//! How processing sessions travel: `#process-transport` (its `data-transport` is `websocket` or
//! `grpc-web`) and the switch that asks for gRPC-Web (`#process-grpc-web`). Why the WebSocket
//! failed, when it did, is the panel's to say (`#process-fallback`), below the input: nothing above
//! the input may move while someone is entering ids.

use yew::prelude::*;

use crate::services::processing::Transport;

#[derive(Properties, PartialEq)]
pub(crate) struct TransportSwitchProps {
    /// The running session's transport, else the next one's.
    pub(crate) shown: Transport,
    /// Whether the next session takes gRPC-Web.
    pub(crate) grpc_web: bool,
    /// False while a session runs: the switch is for the next one.
    pub(crate) enabled: bool,
    pub(crate) on_use_grpc_web: Callback<bool>,
}

#[component]
pub(crate) fn TransportSwitch(props: &TransportSwitchProps) -> Html {
    let on_change = props
        .on_use_grpc_web
        .reform(|event: Event| event.target_unchecked_into::<web_sys::HtmlInputElement>().checked());
    html! {
        <div class="transport">
            <p>
                <span class="muted">{ "Transport: " }</span>
                <span id="process-transport" data-transport={props.shown.data()}>{ props.shown.label() }</span>
            </p>
            <label class="switch" title="gRPC-Web: a server stream plus one call per id, for where no WebSocket can be had. Applies to the next session and update.">
                <input id="process-grpc-web" type="checkbox" checked={props.grpc_web} disabled={!props.enabled}
                    onchange={on_change} />
                <span>{ "gRPC-Web only" }</span>
            </label>
        </div>
    }
}
