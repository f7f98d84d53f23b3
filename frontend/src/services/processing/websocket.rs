//! A processing session over WebSocket: the book's `processOrders`, full duplex. Each id entered
//! goes into the call's request stream at once; Finish ends that stream (the half-close); dropping
//! the session drops the call, which closes its WebSocket, and the server cancels it.
//!
//! The server answers the call (its response headers) before it reads a single id, so a WebSocket
//! that gets no answer at all has shipped nothing: then, and only then, the session starts again
//! over gRPC-Web with the ids entered so far. Once answered, a broken call is never made again.

use std::pin::pin;

use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures::future::{Either, select};
use futures::{StreamExt, stream};
use ordermgt_proto::CombinedShipment;
use tonic::codec::Streaming;
use yew::Callback;

use super::{Command, ProcessEvent, grpc_web};
use crate::services::websocket::is_unanswered;
use crate::services::{Api, CallError};

/// Runs one session until its call ends: OK after a finish, or the error that broke it.
pub(super) async fn drive(
    api: Api,
    mut queue: UnboundedReceiver<Command>,
    on_event: Callback<ProcessEvent>,
) -> Result<(), CallError> {
    let (ids, requests) = mpsc::unbounded();
    let mut feed = Feed { ids: Some(ids), taken: Vec::new() };
    // Ids entered while the call opens go into its request stream too.
    let answered = {
        let call = pin!(api.process(requests));
        let feeding = pin!(feed.run(&mut queue));
        match select(call, feeding).await {
            Either::Left((answered, _)) => answered,
            Either::Right(((), call)) => call.await,
        }
    };
    let shipments = match answered {
        Ok(shipments) => shipments,
        Err(status) if is_unanswered(&status) => {
            on_event.emit(ProcessEvent::FellBack { reason: status.message().to_string() });
            let entered = stream::iter(feed.taken).chain(queue).boxed_local();
            return grpc_web::drive(api.web(), entered, on_event).await;
        }
        Err(status) => return Err(status.into()),
    };
    on_event.emit(ProcessEvent::Opened);

    let read = pin!(read(shipments, on_event));
    let feeding = pin!(feed.run(&mut queue));
    match select(read, feeding).await {
        // The call is over, so is the session: ids still queued have nowhere to go.
        Either::Left((ended, _)) => ended,
        // Finished: the last shipments are still on their way.
        Either::Right(((), read)) => read.await,
    }
}

/// The page's commands on their way into the request stream.
struct Feed {
    /// The request stream's sender; dropped at Finish, which half-closes the call.
    ids: Option<UnboundedSender<String>>,
    /// Every command taken from the page's queue, in order: what gRPC-Web gets if the call never opens.
    taken: Vec<Command>,
}

impl Feed {
    /// Moves commands into the request stream as they come, until Finish.
    async fn run(&mut self, queue: &mut UnboundedReceiver<Command>) {
        while let Some(command) = queue.next().await {
            self.taken.push(command.clone());
            match command {
                Command::Submit(id) => {
                    if let Some(ids) = &self.ids {
                        // Fails only once the call is over, which its stream then reports.
                        let _ = ids.unbounded_send(id);
                    }
                }
                Command::Finish => {
                    self.ids = None;
                    return;
                }
            }
        }
    }
}

/// Emits each shipment and rejection notice as it arrives.
async fn read(mut shipments: Streaming<CombinedShipment>, on_event: Callback<ProcessEvent>) -> Result<(), CallError> {
    while let Some(shipment) = shipments.message().await? {
        on_event.emit(ProcessEvent::from_shipment(shipment));
    }
    Ok(())
}
