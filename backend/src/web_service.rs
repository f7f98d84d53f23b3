//! `ecommerce.OrderManagementWeb`: the book's client-streaming calls in shapes
//! a browser can make over gRPC-Web, running the very code of their twins.

use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use ordermgt_proto as pb;
use ordermgt_proto::order_management_web_server::OrderManagementWeb;
use ordermgt_proto::processing_event::Event as PbEvent;
use tonic::{Request, Response, Status};

use crate::metrics::Gauge;
use crate::processing::Processor;
use crate::sessions::{SessionEvent, Sessions};
use crate::shutdown::Shutdown;
use crate::store::OrderStore;
use crate::update::UpdateBatch;

/// The browser-facing twin of [`crate::service::OrderService`].
#[derive(Debug, Clone)]
pub struct OrderWebService {
    store: Arc<dyn OrderStore>,
    processor: Processor,
    sessions: Sessions,
    open_streams: Gauge,
    shutdown: Shutdown,
}

impl OrderWebService {
    /// `open_streams` is shared with the native service: a session counts as an open processing
    /// stream, and, like one, finishes (flushing its partial batch) when `shutdown` begins.
    pub fn new(store: Arc<dyn OrderStore>, processor: Processor, open_streams: Gauge, shutdown: Shutdown) -> Self {
        Self { store, processor, sessions: Sessions::default(), open_streams, shutdown }
    }
}

#[tonic::async_trait]
impl OrderManagementWeb for OrderWebService {
    async fn update_orders_unary(&self, request: Request<pb::OrderList>) -> Result<Response<String>, Status> {
        let mut update = UpdateBatch::default();
        for order in request.into_inner().orders {
            update.push(order.into())?;
        }
        Ok(Response::new(update.apply(self.store.as_ref()).await?))
    }

    type processOrdersOpenStream = BoxStream<'static, Result<pb::ProcessingEvent, Status>>;

    async fn process_orders_open(&self, _: Request<()>) -> Result<Response<Self::processOrdersOpenStream>, Status> {
        let open = self.open_streams.track();
        let events = self.sessions.open(self.processor.session(), self.shutdown.begun()).map(move |event| {
            let _open = &open;
            let event = match event? {
                SessionEvent::Opened { token } => PbEvent::SessionToken(token),
                SessionEvent::Event(event) => PbEvent::Shipment(event.into()),
            };
            Ok(pb::ProcessingEvent { event: Some(event) })
        });
        Ok(Response::new(events.boxed()))
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
