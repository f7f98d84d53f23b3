//! Processing sessions: ids go in one at a time, in the order entered; shipments and rejection
//! notices come back as the server's batches fill.
//!
//! A `ProcessSession` looks the same whatever carries it: a sequential queue of `Command`s in, a stream of
//! `ProcessEvent`s out. `Transport` picks the carrier: the book's `processOrders`, full duplex over
//! a WebSocket (`websocket`), or, where no WebSocket can be had, a server stream plus unary calls
//! over gRPC-Web (`grpc_web`), which no browser can stream a request through.

mod grpc_web;
mod websocket;

use std::cell::Cell;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::{self, UnboundedSender};
use futures::future::{AbortHandle, Abortable, LocalBoxFuture};
use ordermgt_proto::CombinedShipment;
use yew::Callback;

use super::{Api, CallError};

/// What carries a processing session (and a multi-order update).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `processOrders` (and `updateOrders`) as they are, over one WebSocket per call.
    #[default]
    WebSocket,
    /// `processOrdersOpen` (server stream) + `processOrdersSubmit` / `processOrdersFinish` (unary),
    /// and `updateOrdersUnary`.
    GrpcWeb,
}

impl Transport {
    /// How the page names the transport to the user.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "WebSocket (full duplex)",
            Transport::GrpcWeb => "gRPC-Web (server stream + unary calls)",
        }
    }

    /// `data-transport` of `#process-transport`, and the value of `?transport=`.
    pub(crate) fn data(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::GrpcWeb => "grpc-web",
        }
    }
}

/// What the page asks of a session, carried out strictly in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Send one order id into the session.
    Submit(String),
    /// Half-close: ship the partial batch and end the session.
    Finish,
}

/// One combined shipment: the orders of one destination of one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShippedIds {
    pub(crate) id: String,
    pub(crate) destination: String,
    pub(crate) order_ids: Vec<String>,
}

/// What a session tells the page, in the order it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProcessEvent {
    /// The server opened the session; ids queued so far are on their way.
    Opened,
    /// The WebSocket got no answer (`reason`), so the server cannot have seen an id: the session
    /// starts again over gRPC-Web with every id entered so far.
    FellBack {
        reason: String,
    },
    Shipped(ShippedIds),
    /// The server refused an id (unknown, empty, already in the batch); it does not count.
    Rejected {
        id: String,
        reason: String,
    },
    /// An id never made it into the session.
    NotSent {
        id: String,
        error: CallError,
    },
    /// The session is over: OK after a finish, or why it broke.
    Ended(Result<(), CallError>),
}

impl ProcessEvent {
    /// The event a shipment or rejection notice from the server stands for.
    pub(crate) fn from_shipment(shipment: CombinedShipment) -> Self {
        if shipment.is_rejection() {
            let reason = if shipment.reason.is_empty() { "refused by the server".to_string() } else { shipment.reason };
            return ProcessEvent::Rejected { id: shipment.rejected_id, reason };
        }
        let destination = match shipment.destination.as_str() {
            // A server without the extension field: every order of a shipment shares its destination.
            "" => shipment.orders_list.first().map(|order| order.destination.clone()).unwrap_or_default(),
            destination => destination.to_string(),
        };
        let order_ids = shipment.orders_list.into_iter().map(|order| order.id).collect();
        ProcessEvent::Shipped(ShippedIds { id: shipment.id, destination, order_ids })
    }
}

/// A live session. Dropping it cancels the session (its stream, and with it the server's session).
#[derive(Debug)]
pub(crate) struct ProcessSession {
    commands: UnboundedSender<Command>,
    abort: AbortHandle,
    finishing: bool,
    ended: Rc<Cell<bool>>,
}

impl ProcessSession {
    /// Opens a session; `on_event` hears everything it does, ending with `ProcessEvent::Ended`
    /// (unless it is dropped first).
    pub(crate) fn open(transport: Transport, api: &Api, on_event: Callback<ProcessEvent>) -> Self {
        let (commands, queue) = mpsc::unbounded();
        let driver: LocalBoxFuture<'static, Result<(), CallError>> = match transport {
            Transport::WebSocket => Box::pin(websocket::drive(api.clone(), queue, on_event.clone())),
            Transport::GrpcWeb => Box::pin(grpc_web::drive(api.web(), queue.boxed_local(), on_event.clone())),
        };
        let (abort, registration) = AbortHandle::new_pair();
        let ended = Rc::new(Cell::new(false));
        let ended_flag = ended.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // Err(Aborted) means the page dropped the session: nobody is listening any more.
            if let Ok(outcome) = Abortable::new(driver, registration).await {
                ended_flag.set(true);
                on_event.emit(ProcessEvent::Ended(outcome));
            }
        });
        ProcessSession { commands, abort, finishing: false, ended }
    }

    /// Whether the session still takes ids: neither finishing nor over.
    pub(crate) fn accepts_ids(&self) -> bool {
        !self.finishing && !self.is_over()
    }

    pub(crate) fn is_over(&self) -> bool {
        self.ended.get()
    }

    /// Queues an id behind those already entered.
    pub(crate) fn submit(&self, id: String) {
        // A send fails only once the driver is gone, and then `Ended` has told the page why.
        let _ = self.commands.unbounded_send(Command::Submit(id));
    }

    /// Half-closes the session once every queued id is sent.
    pub(crate) fn finish(&mut self) {
        self.finishing = true;
        let _ = self.commands.unbounded_send(Command::Finish);
    }
}

impl Drop for ProcessSession {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

#[cfg(test)]
mod tests {
    use ordermgt_proto::{Order, STATUS_PROCESSED, STATUS_REJECTED};

    use super::*;

    fn order(id: &str, destination: &str) -> Order {
        Order { id: id.into(), destination: destination.into(), ..Order::default() }
    }

    #[test]
    fn a_shipment_lists_its_order_ids() {
        let shipment = CombinedShipment {
            id: "cmb-1".into(),
            status: STATUS_PROCESSED.into(),
            orders_list: vec![order("102", "Mountain View, CA"), order("104", "Mountain View, CA")],
            destination: "Mountain View, CA".into(),
            ..CombinedShipment::default()
        };
        let expected = ShippedIds {
            id: "cmb-1".into(),
            destination: "Mountain View, CA".into(),
            order_ids: vec!["102".into(), "104".into()],
        };
        assert_eq!(ProcessEvent::from_shipment(shipment), ProcessEvent::Shipped(expected));
    }

    #[test]
    fn a_shipment_without_destination_takes_its_orders() {
        let shipment = CombinedShipment {
            id: "cmb-2".into(),
            status: STATUS_PROCESSED.into(),
            orders_list: vec![order("103", "San Jose, CA")],
            ..CombinedShipment::default()
        };
        let ProcessEvent::Shipped(shipped) = ProcessEvent::from_shipment(shipment) else { panic!("not a shipment") };
        assert_eq!(shipped.destination, "San Jose, CA");
    }

    #[test]
    fn a_rejection_notice_names_the_id_and_reason() {
        let notice = CombinedShipment {
            status: STATUS_REJECTED.into(),
            rejected_id: "999".into(),
            reason: "order 999 not found".into(),
            ..CombinedShipment::default()
        };
        let expected = ProcessEvent::Rejected { id: "999".into(), reason: "order 999 not found".into() };
        assert_eq!(ProcessEvent::from_shipment(notice), expected);
    }

    #[test]
    fn the_transport_is_named_for_the_user_and_for_tests() {
        assert_eq!(Transport::default(), Transport::WebSocket);
        assert_eq!(Transport::WebSocket.label(), "WebSocket (full duplex)");
        assert_eq!(Transport::GrpcWeb.label(), "gRPC-Web (server stream + unary calls)");
        assert_eq!([Transport::WebSocket.data(), Transport::GrpcWeb.data()], ["websocket", "grpc-web"]);
    }
}
