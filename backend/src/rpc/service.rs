//! The tonic service: translates between the wire and the domain, nothing more.

use std::sync::Arc;

use futures::stream::{StreamExt, TryStreamExt};
use ordermgt_proto as pb;
use ordermgt_proto::order_management_server::OrderManagement;
use tonic::{Request, Response, Status, Streaming};

use crate::domain::error::OrderError;
use crate::domain::order::Order;
use crate::domain::processing::{self, Event, Processor, Rejection, Shipment};
use crate::domain::store::OrderStore;
use crate::domain::update::UpdateBatch;
use crate::rpc::message_limit::{self, ResponseStream};

/// `ecommerce.OrderManagement`, backed by an [`OrderStore`].
#[derive(Debug, Clone)]
pub struct OrderService {
    store: Arc<dyn OrderStore>,
    processor: Processor,
    /// The largest message its streams send (`--max-message-bytes`).
    max_message: usize,
}

impl OrderService {
    pub fn new(store: Arc<dyn OrderStore>, processor: Processor) -> Self {
        Self { store, processor, max_message: usize::MAX }
    }

    /// Ends a streamed answer at its first message past `max_message` bytes,
    /// after sending every one before it (see [`message_limit`]).
    pub(crate) fn with_max_message(mut self, max_message: usize) -> Self {
        self.max_message = max_message;
        self
    }
}

#[tonic::async_trait]
impl OrderManagement for OrderService {
    async fn add_order(&self, request: Request<pb::Order>) -> Result<Response<String>, Status> {
        let mut order = Order::from(request.into_inner());
        order.validate()?;
        if order.id.is_empty() {
            order.id = uuid::Uuid::now_v7().to_string();
        }
        let id = order.id.clone();
        self.store.insert(order).await?;
        Ok(Response::new(id))
    }

    async fn get_order(&self, request: Request<String>) -> Result<Response<pb::Order>, Status> {
        let id = request.into_inner();
        crate::domain::order::check_id(&id)?;
        match self.store.get(&id).await? {
            Some(order) => Ok(Response::new(order.into())),
            None => Err(OrderError::NotFound { id }.into()),
        }
    }

    type searchOrdersStream = ResponseStream<pb::Order>;

    async fn search_orders(&self, request: Request<String>) -> Result<Response<Self::searchOrdersStream>, Status> {
        let budget = self.processor.budget().for_call(request.extensions());
        let found = crate::domain::store::search_within(self.store.as_ref(), &request.into_inner(), &budget);
        let orders = found.map_ok(pb::Order::from).map_err(Status::from);
        Ok(Response::new(message_limit::held_to(self.max_message, orders)))
    }

    async fn update_orders(&self, request: Request<Streaming<pb::Order>>) -> Result<Response<String>, Status> {
        let mut update = UpdateBatch::new(&self.processor.budget().for_call(request.extensions()));
        let mut incoming = request.into_inner();
        while let Some(order) = incoming.next().await {
            update.push(order?.into())?;
        }
        Ok(Response::new(update.apply(self.store.as_ref()).await?))
    }

    type processOrdersStream = ResponseStream<pb::CombinedShipment>;

    async fn process_orders(
        &self,
        request: Request<Streaming<String>>,
    ) -> Result<Response<Self::processOrdersStream>, Status> {
        // The session lives as long as the stream: a client that leaves drops both at once.
        let session = self.processor.session_in(self.processor.budget().for_call(request.extensions()));
        let events = processing::run(session, request.into_inner());
        Ok(Response::new(message_limit::held_to(self.max_message, events.map_ok(pb::CombinedShipment::from))))
    }
}

impl From<pb::Order> for Order {
    fn from(order: pb::Order) -> Self {
        let pb::Order { id, items, description, price, destination } = order;
        Self { id, items, description, price, destination }
    }
}

impl From<Order> for pb::Order {
    fn from(order: Order) -> Self {
        let Order { id, items, description, price, destination } = order;
        Self { id, items, description, price, destination }
    }
}

impl From<Event> for pb::CombinedShipment {
    fn from(event: Event) -> Self {
        match event {
            Event::Shipment(shipment) => shipment.into(),
            Event::Rejected(rejection) => rejection.into(),
        }
    }
}

impl From<Shipment> for pb::CombinedShipment {
    fn from(shipment: Shipment) -> Self {
        Self {
            id: shipment.id,
            status: pb::STATUS_PROCESSED.into(),
            orders_list: shipment.orders.into_iter().map(pb::Order::from).collect(),
            destination: shipment.destination,
            ..Self::default()
        }
    }
}

impl From<Rejection> for pb::CombinedShipment {
    fn from(rejection: Rejection) -> Self {
        Self {
            status: pb::STATUS_REJECTED.into(),
            rejected_id: rejection.id,
            reason: rejection.reason,
            ..Self::default()
        }
    }
}
