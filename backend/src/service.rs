//! The tonic service: translates between the wire and the domain, nothing more.

use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use ordermgt_proto as pb;
use ordermgt_proto::order_management_server::OrderManagement;
use tonic::{Request, Response, Status, Streaming};

use crate::error::OrderError;
use crate::metrics::Gauge;
use crate::order::Order;
use crate::processing::{Outcome, Processor, Rejection, Shipment};
use crate::store::OrderStore;
use crate::update::UpdateBatch;

/// `ecommerce.OrderManagement`, backed by an [`OrderStore`].
#[derive(Debug, Clone)]
pub struct OrderService {
    store: Arc<dyn OrderStore>,
    processor: Processor,
    open_streams: Gauge,
}

impl OrderService {
    pub fn new(store: Arc<dyn OrderStore>, processor: Processor) -> Self {
        Self { store, processor, open_streams: Gauge::default() }
    }

    /// How many `processOrders` calls are running right now.
    pub fn open_process_streams(&self) -> usize {
        self.open_streams.get()
    }
}

type ResponseStream<T> = BoxStream<'static, Result<T, Status>>;

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
        match self.store.get(&id).await? {
            Some(order) => Ok(Response::new(order.into())),
            None => Err(OrderError::NotFound { id }.into()),
        }
    }

    type searchOrdersStream = ResponseStream<pb::Order>;

    async fn search_orders(&self, request: Request<String>) -> Result<Response<Self::searchOrdersStream>, Status> {
        let found = self.store.search(&request.into_inner());
        Ok(Response::new(found.map_ok(pb::Order::from).map_err(Status::from).boxed()))
    }

    async fn update_orders(&self, request: Request<Streaming<pb::Order>>) -> Result<Response<String>, Status> {
        let mut incoming = request.into_inner();
        let mut update = UpdateBatch::default();
        while let Some(order) = incoming.next().await {
            update.push(order?.into())?;
        }
        let reply = format!("Updated orders: {}", update.ids().collect::<Vec<_>>().join(", "));
        self.store.replace_all(update.into_orders()).await?;
        Ok(Response::new(reply))
    }

    type processOrdersStream = ResponseStream<pb::CombinedShipment>;

    async fn process_orders(
        &self,
        request: Request<Streaming<String>>,
    ) -> Result<Response<Self::processOrdersStream>, Status> {
        let mut ids = request.into_inner();
        let mut session = self.processor.session();
        let open = self.open_streams.track();
        // Pull-driven: the next id is read only once the client has taken
        // what the last one produced, so a client that stops reading stops
        // the server reading too (HTTP/2 flow control does the rest), and a
        // client that leaves drops this stream and its session at once.
        let shipments = async_stream::try_stream! {
            let _open = open;
            while let Some(id) = ids.next().await {
                match session.submit(&id?).await? {
                    Outcome::Pending => {}
                    Outcome::Rejected(rejection) => yield rejection.into(),
                    Outcome::Shipped(shipments) => {
                        for shipment in shipments {
                            yield shipment.into();
                        }
                    }
                }
            }
            for shipment in session.finish() {
                yield shipment.into();
            }
        };
        Ok(Response::new(shipments.boxed()))
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
