//! A processing session over gRPC-Web: `processOrdersOpen` streams the session's events while
//! `processOrdersSubmit` and `processOrdersFinish` feed it, one unary call at a time, in order.

use std::pin::pin;

use futures::StreamExt;
use futures::future::{Either, select};
use futures::stream::LocalBoxStream;
use ordermgt_proto::order_management_web_client::OrderManagementWebClient;
use ordermgt_proto::processing_event::Event;
use ordermgt_proto::{ProcessingEvent, SessionToken, SubmitOrderId};
use tonic::codec::Streaming;
use tonic_web_wasm_client::Client;
use yew::Callback;

use super::{Command, ProcessEvent};
use crate::services::{CallError, Reach};

type WebClient = OrderManagementWebClient<Client>;

/// Runs one session until its stream ends: OK after a finish, or the error that broke it.
pub(super) async fn drive(
    mut client: WebClient,
    queue: LocalBoxStream<'static, Command>,
    on_event: Callback<ProcessEvent>,
) -> Result<(), CallError> {
    let mut events = client.process_orders_open(()).await?.into_inner();
    let token = match events.message().await? {
        Some(ProcessingEvent { event: Some(Event::SessionToken(token)) }) => token,
        Some(_) => return Err(protocol_error("the session's first event was not its token")),
        None => return Err(protocol_error("the server ended the session before it began")),
    };
    on_event.emit(ProcessEvent::Opened);

    let read = pin!(read(events, on_event.clone()));
    let feed = pin!(feed(client, token, queue, on_event));
    match select(read, feed).await {
        // The stream is over, so is the session: ids still queued have nowhere to go.
        Either::Left((ended, _)) => ended,
        // Finished (or the page stopped feeding): the last shipments are still on their way.
        Either::Right((fed, read)) => {
            fed?;
            read.await
        }
    }
}

/// Emits each shipment and rejection notice as it arrives.
async fn read(mut events: Streaming<ProcessingEvent>, on_event: Callback<ProcessEvent>) -> Result<(), CallError> {
    while let Some(event) = events.message().await? {
        match event.event {
            Some(Event::Shipment(shipment)) => on_event.emit(ProcessEvent::from_shipment(shipment)),
            // Only the first event carries the token; an empty event is a newer server's: skip it.
            Some(Event::SessionToken(_)) | None => {}
        }
    }
    Ok(())
}

/// Sends the queued commands one by one, each after the previous call has returned, so the server
/// sees the ids in the order they were entered.
async fn feed(
    mut client: WebClient,
    session_token: String,
    mut queue: LocalBoxStream<'static, Command>,
    on_event: Callback<ProcessEvent>,
) -> Result<(), CallError> {
    while let Some(command) = queue.next().await {
        match command {
            Command::Submit(order_id) => {
                let request = SubmitOrderId { session_token: session_token.clone(), order_id: order_id.clone() };
                if let Err(status) = client.process_orders_submit(request).await {
                    on_event.emit(ProcessEvent::NotSent { id: order_id, error: status.into() });
                }
            }
            Command::Finish => {
                client.process_orders_finish(SessionToken { session_token }).await?;
                return Ok(());
            }
        }
    }
    Ok(())
}

fn protocol_error(what: &str) -> CallError {
    CallError {
        message: format!("Unexpected reply from the server: {what}"),
        reach: Reach::Server,
        code: tonic::Code::Internal,
    }
}
