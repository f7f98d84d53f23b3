//! `ecommerce.OrderManagementWeb`: the book's client-streaming calls in shapes
//! a browser can make over gRPC-Web, running the very code of their twins.

use std::sync::Arc;

use futures::stream::StreamExt;
use ordermgt_proto as pb;
use ordermgt_proto::order_management_web_server::OrderManagementWeb;
use ordermgt_proto::processing_event::Event as PbEvent;
use tonic::{Request, Response, Status};

use crate::domain::processing::Processor;
use crate::domain::store::OrderStore;
use crate::domain::update::UpdateBatch;
use crate::rpc::message_limit::{self, ResponseStream};
use crate::rpc::sessions::{SessionEvent, Sessions};

/// The browser-facing twin of [`crate::rpc::service::OrderService`].
#[derive(Debug, Clone)]
pub(crate) struct OrderWebService {
    store: Arc<dyn OrderStore>,
    processor: Processor,
    sessions: Sessions,
    /// The largest message its streams send (`--max-message-bytes`).
    max_message: usize,
}

impl OrderWebService {
    /// `processor` is shared with the native service: a session is counted, and ends on
    /// shutdown, exactly as a `processOrders` call is.
    pub(crate) fn new(store: Arc<dyn OrderStore>, processor: Processor) -> Self {
        Self { store, processor, sessions: Sessions::default(), max_message: usize::MAX }
    }

    /// Ends a session's events at the first past `max_message` bytes, after
    /// sending every one before it (see [`message_limit`]).
    pub(crate) fn with_max_message(mut self, max_message: usize) -> Self {
        self.max_message = max_message;
        self
    }

    /// Lets each processing session hold at most `max_pending_ids` ids unread,
    /// and at most `max_sessions` be open at once.
    pub(crate) fn with_session_limits(mut self, max_pending_ids: usize, max_sessions: usize) -> Self {
        self.sessions = Sessions::with_limits(max_pending_ids, max_sessions);
        self
    }
}

#[tonic::async_trait]
impl OrderManagementWeb for OrderWebService {
    async fn update_orders_unary(&self, request: Request<pb::OrderList>) -> Result<Response<String>, Status> {
        let mut update = UpdateBatch::new(&self.processor.budget().for_call(request.extensions()));
        for order in request.into_inner().orders {
            update.push(order.into())?;
        }
        Ok(Response::new(update.apply(self.store.as_ref()).await?))
    }

    type processOrdersOpenStream = ResponseStream<pb::ProcessingEvent>;

    async fn process_orders_open(
        &self,
        request: Request<()>,
    ) -> Result<Response<Self::processOrdersOpenStream>, Status> {
        // The session's orders are held in the share of the connection that opened it.
        let session = self.processor.session_in(self.processor.budget().for_call(request.extensions()));
        let events = self.sessions.open(session)?.map(|event| {
            let event = match event? {
                SessionEvent::Opened { token } => PbEvent::SessionToken(token),
                SessionEvent::Event(event) => PbEvent::Shipment(event.into()),
            };
            Ok(pb::ProcessingEvent { event: Some(event) })
        });
        Ok(Response::new(message_limit::held_to(self.max_message, events)))
    }

    async fn process_orders_submit(&self, request: Request<pb::SubmitOrderId>) -> Result<Response<()>, Status> {
        let pb::SubmitOrderId { session_token, order_id } = request.into_inner();
        self.sessions.submit(&session_token, order_id)?;
        Ok(Response::new(()))
    }

    async fn process_orders_finish(&self, request: Request<pb::SessionToken>) -> Result<Response<()>, Status> {
        self.sessions.finish(&request.into_inner().session_token)?;
        Ok(Response::new(()))
    }
}
