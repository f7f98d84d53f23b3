//! The generated clients, one method per call the page makes: over `tonic-web-wasm-client` (fetch)
//! for gRPC-Web, and over our WebSocket transport for the book's streaming calls.

use futures::Stream;
use ordermgt_proto::order_management_client::OrderManagementClient;
use ordermgt_proto::order_management_web_client::OrderManagementWebClient;
use ordermgt_proto::{CombinedShipment, Order, OrderList};
use tonic::Status;
use tonic::codec::Streaming;
use tonic_web_wasm_client::Client;

use super::websocket::WebSocketChannel;
use super::{CallError, Reach, WriteToken};

/// The book's service and the browser's extension, both on the page's own origin.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    orders: OrderManagementClient<Client>,
    web: OrderManagementWebClient<Client>,
    /// The book's service again, over WebSocket: for the calls that stream requests.
    streams: OrderManagementClient<WebSocketChannel>,
}

impl Api {
    /// Clients for the server that served the page (`window.location`).
    pub(crate) fn for_page() -> Self {
        let location = web_sys::window().map(|window| window.location());
        let read = |part: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
            location.as_ref().and_then(|location| part(location).ok()).unwrap_or_default()
        };
        let transport = Client::new(read(web_sys::Location::origin));
        let websocket = WebSocketChannel::for_page(&read(web_sys::Location::protocol), &read(web_sys::Location::host))
            .offering_as(&read(web_sys::Location::search));
        Api {
            orders: OrderManagementClient::new(transport.clone()),
            web: OrderManagementWebClient::new(transport),
            streams: OrderManagementClient::new(websocket),
        }
    }

    /// The browser extension's client, for processing sessions.
    pub(crate) fn web(&self) -> OrderManagementWebClient<Client> {
        self.web.clone()
    }

    /// `searchOrders`: the matching orders, read one by one as the server streams them.
    pub(crate) async fn search(&self, query: String) -> Result<OrderStream, CallError> {
        let stream = self.orders.clone().search_orders(query).await?.into_inner();
        Ok(OrderStream(stream))
    }

    /// `getOrder`.
    pub(crate) async fn get(&self, id: String) -> Result<Order, CallError> {
        Ok(self.orders.clone().get_order(id).await?.into_inner())
    }

    /// `addOrder`: the stored order's id.
    pub(crate) async fn add(&self, order: Order, token: Option<&WriteToken>) -> Result<String, CallError> {
        Ok(self.orders.clone().add_order(writing(order, token)).await?.into_inner())
    }

    /// `updateOrdersUnary`: all or nothing; the server's reply (`Updated orders: 102, 103`).
    pub(crate) async fn update(&self, orders: Vec<Order>, token: Option<&WriteToken>) -> Result<String, CallError> {
        Ok(self.web.clone().update_orders_unary(writing(OrderList { orders }, token)).await?.into_inner())
    }

    /// `updateOrders` over WebSocket, one request message per order: the same reply. The status
    /// as it came, so that the caller can tell a WebSocket that never got an answer.
    pub(crate) async fn update_streaming(
        &self,
        orders: Vec<Order>,
        token: Option<&WriteToken>,
    ) -> Result<String, Status> {
        let orders = futures::stream::iter(orders);
        Ok(self.streams.clone().update_orders(writing(orders, token)).await?.into_inner())
    }

    /// `processOrders` over WebSocket: `ids` is the request stream, and its end the half-close.
    /// Answers once the server has: the status as it came, as for `update_streaming`.
    pub(crate) async fn process(
        &self,
        ids: impl Stream<Item = String> + Send + 'static,
    ) -> Result<Streaming<CombinedShipment>, Status> {
        Ok(self.streams.clone().process_orders(ids).await?.into_inner())
    }

    /// Whether the server answers at all: `getOrder("")` costs it a lookup and a NOT_FOUND.
    pub(crate) async fn probe(&self) -> Reach {
        match self.get(String::new()).await {
            Ok(_) => Reach::Server,
            Err(error) => error.reach,
        }
    }
}

/// The query string of the page's address (`?transport=grpc-web`), empty if none.
pub(crate) fn page_query() -> String {
    web_sys::window().and_then(|window| window.location().search().ok()).unwrap_or_default()
}

/// The request of a write: every call that changes orders is built here, so that it carries the
/// tab's token (`authorization: Bearer <token>`) whenever there is one. `message` may as well be a
/// stream, for a client-streaming write.
fn writing<T>(message: T, token: Option<&WriteToken>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", token.bearer());
    }
    request
}

/// The orders of one search, as they arrive. Dropping it cancels the call.
#[derive(Debug)]
pub(crate) struct OrderStream(Streaming<Order>);

impl OrderStream {
    /// The next order, `None` once the search is complete.
    pub(crate) async fn next(&mut self) -> Result<Option<Order>, CallError> {
        Ok(self.0.message().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_carries_the_token_when_there_is_one() {
        let token = WriteToken::parse("s3cret-token").expect("a valid token");
        let request = writing(Order::default(), Some(&token));
        let header = request.metadata().get("authorization").and_then(|value| value.to_str().ok());
        assert_eq!(header, Some("Bearer s3cret-token"));
        assert!(writing(Order::default(), None).metadata().get("authorization").is_none());
    }
}
