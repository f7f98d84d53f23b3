//! The processing panel: enter ids, watch batches ship, finish or stop the session.

use yew::prelude::*;

use super::process_input::ProcessInput;
use super::shipments::Shipments;
use super::transport_switch::TransportSwitch;
use crate::services::processing::Transport;
use crate::state::{Phase, ProcessState};

#[derive(Properties, PartialEq)]
pub(crate) struct ProcessPanelProps {
    pub(crate) process: ProcessState,
    /// The ids of the listed orders, offered as chips.
    pub(crate) chips: Vec<String>,
    pub(crate) on_send: Callback<String>,
    pub(crate) on_finish: Callback<()>,
    pub(crate) on_stop: Callback<()>,
    /// The transport switch: gRPC-Web (true) or the WebSocket.
    pub(crate) on_use_grpc_web: Callback<bool>,
}

#[component]
pub(crate) fn ProcessPanel(props: &ProcessPanelProps) -> Html {
    let phase = &props.process.phase;
    let on_finish = props.on_finish.reform(|_: MouseEvent| ());
    let on_stop = props.on_stop.reform(|_: MouseEvent| ());
    let failed = matches!(phase, Phase::Failed(_));
    let process = &props.process;
    html! {
        <section class="card process-card" aria-labelledby="process-title">
            <div class="card-head">
                <h2 id="process-title">{ "Process orders" }</h2>
                <TransportSwitch shown={process.shown_transport()}
                    grpc_web={process.choice.next() == Transport::GrpcWeb} enabled={!phase.is_active()}
                    on_use_grpc_web={props.on_use_grpc_web.clone()} />
            </div>
            <p class="muted hint">
                { "Each id is sent the moment you enter it. When a batch fills, it ships at once, one shipment per destination; Finish ships what is left." }
            </p>
            <ProcessInput chips={props.chips.clone()} enabled={!matches!(phase, Phase::Finishing)}
                on_send={props.on_send.clone()} />
            <div class="session-bar">
                <p id="process-state" class={classes!("session-state", phase.data_state(), failed.then_some("error"))}
                    data-state={phase.data_state()} role="status">{ phase.label() }</p>
                <div class="session-actions">
                    <button id="process-finish" type="button" onclick={on_finish} disabled={!phase.accepts_ids()}
                        title="Ship the partial batch and end the session">{ "Finish" }</button>
                    <button id="process-stop" type="button" class="danger" onclick={on_stop} disabled={!phase.is_active()}
                        title="Cancel the session">{ "Stop" }</button>
                </div>
            </div>
            // Below the input and the session's buttons, so that they stay where they are when it appears.
            if let Some(trouble) = process.websocket_trouble() {
                <p id="process-fallback" class="muted small">
                    { format!("WebSocket unavailable: {trouble}. Using gRPC-Web.") }
                </p>
            }
            if let Some(notice) = &props.process.notice {
                <p class="notice" role="status">{ notice }</p>
            }
            <Shipments pending={process.pending.ids().to_vec()} unconfirmed={process.unconfirmed.clone()}
                outcomes={process.outcomes.clone()} />
        </section>
    }
}
