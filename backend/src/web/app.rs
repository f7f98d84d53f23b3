//! The HTTP application: the gRPC services (native and gRPC-Web) behind origin
//! checks, and the page's static files for every other path.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use ordermgt_proto::order_management_server::OrderManagementServer;
use ordermgt_proto::order_management_web_server::OrderManagementWebServer;
use tokio_util::task::TaskTracker;
use tonic::codec::CompressionEncoding;
use tonic::service::LayerExt;
use tonic_web::GrpcWebLayer;
use tower::{Layer, ServiceBuilder};

use crate::budget::Budget;
use crate::config::{Config, Limits};
use crate::domain::processing::Processor;
use crate::domain::store::{MemoryStore, OrderStore, sample_orders};
use crate::metrics::{self, Metrics};
use crate::rpc::health::Health;
use crate::rpc::reflection::Reflection;
use crate::rpc::service::OrderService;
use crate::rpc::unary_lane::UnaryLane;
use crate::rpc::web_service::OrderWebService;
use crate::tls::Tls;
use crate::web::auth::WriteAccess;
use crate::web::calls::{self, CallBody, CallLayer, CallService};
use crate::web::hosts::{HostPolicy, refuse_unknown_hosts};
use crate::web::origin::{OriginPolicy, refuse_foreign_origins};
use crate::web::page;
use crate::web::websocket;

/// Everything one server instance serves, built from its [`Config`].
#[derive(Debug, Clone)]
pub struct App {
    service: OrderService,
    web_service: OrderWebService,
    origins: OriginPolicy,
    hosts: HostPolicy,
    processor: Processor,
    web_dir: PathBuf,
    health: Health,
    metrics: Metrics,
    write_access: WriteAccess,
    limits: Limits,
    compress_responses: bool,
    tls: Option<Tls>,
    websocket_calls: TaskTracker,
    /// The WebSocket calls served at once (`--max-websocket-calls`).
    websocket_slots: websocket::CallSlots,
}

impl App {
    /// An app over a fresh in-memory store holding the book's sample orders,
    /// whatever `config.database_url` says ([`App::open`] opens that one).
    pub fn in_memory(config: &Config) -> Self {
        Self::with_store(config, Arc::new(MemoryStore::with_orders(sample_orders())))
    }

    /// An app over the store `config` names (`--database-url`), opened,
    /// migrated and, when new, seeded.
    pub async fn open(config: &Config) -> Result<Self, crate::domain::store::database::OpenError> {
        let store = crate::domain::store::database::open(&config.database_url(), config.cache_bytes).await?;
        Ok(Self::with_store(config, store))
    }

    /// An app over `store`. Its TLS certificate and write token, which are
    /// read from files that may be missing, are given separately:
    /// [`App::with_tls`], [`App::with_write_access`].
    pub fn with_store(config: &Config, store: Arc<dyn OrderStore>) -> Self {
        let metrics = Metrics::default();
        let budget = Budget::new(config.limits.max_held_bytes, metrics.clone());
        let processor =
            Processor::new(Arc::clone(&store), config.batch_size).with_metrics(metrics.clone()).with_budget(budget);
        let (max_pending_ids, max_sessions) =
            (config.limits.max_pending_ids as usize, config.limits.max_sessions as usize);
        let max_message = config.limits.max_message_bytes;
        Self {
            service: OrderService::new(Arc::clone(&store), processor.clone()).with_max_message(max_message),
            web_service: OrderWebService::new(store, processor.clone())
                .with_session_limits(max_pending_ids, max_sessions)
                .with_max_message(max_message),
            origins: OriginPolicy::new(&config.cors_origins),
            hosts: HostPolicy::new(&config.allowed_hosts),
            processor,
            web_dir: page::resolve_dir(config.web_dir.as_deref()),
            health: Health::default(),
            metrics,
            write_access: WriteAccess::default(),
            limits: config.limits.clone(),
            compress_responses: config.compress_responses,
            tls: None,
            websocket_calls: TaskTracker::new(),
            websocket_slots: websocket::CallSlots::new(config.limits.max_websocket_calls as usize),
        }
    }

    /// Serves over TLS with `acceptor`'s certificate.
    pub fn with_tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Lets only holders of the write token change orders.
    pub fn with_write_access(mut self, write_access: WriteAccess) -> Self {
        self.write_access = write_access;
        self
    }

    /// The routes: both order services and health, each reachable natively
    /// and over gRPC-Web; server reflection (v1 and v1alpha) natively;
    /// Prometheus metrics at `/metrics`; and, for any other path, the page.
    pub fn router(&self) -> Router {
        self.routes().full
    }

    /// What connections serve: [`App::router`], with a short way through for
    /// native gRPC calls (see [`Front`]).
    pub fn service(&self) -> Front {
        let Routes { calls, full } = self.routes();
        let books = self.call_layer().layer(self.order_management());
        Front { books, calls, full }
    }

    fn call_layer(&self) -> CallLayer {
        CallLayer::new(self.metrics.clone(), self.write_access.clone(), self.limits.request_timeout)
    }

    fn order_management(&self) -> Books {
        let (max_message, compress) = (self.limits.max_message_bytes, self.compress_responses);
        let server = tonic_books(self.service.clone(), max_message, compress);
        UnaryLane::new(server, self.service.clone(), max_message, compress)
    }

    fn order_management_web(&self) -> OrderManagementWebServer<OrderWebService> {
        let max_message = self.limits.max_message_bytes;
        let server = OrderManagementWebServer::new(self.web_service.clone())
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message)
            .accept_compressed(CompressionEncoding::Gzip);
        if self.compress_responses { server.send_compressed(CompressionEncoding::Gzip) } else { server }
    }

    #[expect(clippy::expect_used, reason = "reflection is built from our own compiled-in descriptors, once, at start")]
    fn routes(&self) -> Routes {
        // Every gRPC call, native or gRPC-Web, passes the same per-call layers
        // (`CallLayer`: log line and metrics, write access, deadline).
        // GrpcWebLayer wraps the gRPC services alone: around the static files
        // it would answer every ordinary request with 400.
        let grpc = ServiceBuilder::new()
            .map_request(calls::mark_protocol)
            .layer(GrpcWebLayer::new())
            .layer(self.call_layer())
            .into_inner();
        let max_message = self.limits.max_message_bytes;
        let order_management = self.order_management();
        let order_management_web = self.order_management_web();
        let reflection = Reflection::new().expect("our own descriptors are valid");
        let calls = tonic::service::Routes::new(grpc.named_layer(order_management))
            .add_service(grpc.named_layer(order_management_web))
            .add_service(grpc.named_layer(self.health.service()))
            .add_service(grpc.named_layer(reflection.v1()))
            .add_service(grpc.named_layer(reflection.v1alpha()))
            .prepare()
            .into_axum_router()
            .fallback(unimplemented)
            .layer(middleware::from_fn(crate::web::content_type::refuse_unspoken));
        // Calls over WebSocket become native requests to the same routes.
        let websocket = websocket::Endpoint::new(
            calls.clone(),
            self.origins.clone(),
            max_message,
            self.websocket_calls.clone(),
            self.websocket_slots.clone(),
            self.processor.budget().clone(),
            self.metrics.clone(),
        );
        let full = calls
            .clone()
            .layer(self.origins.cors_layer())
            .route("/metrics", get(metrics::exposition).with_state(self.metrics.clone()))
            .layer(middleware::from_fn_with_state(self.origins.clone(), refuse_foreign_origins))
            .fallback_service(page::router(self.web_dir.clone()).layer(middleware::from_fn(unknown_grpc_method)))
            .layer(middleware::from_fn_with_state(websocket, websocket::upgrade))
            .layer(middleware::from_fn_with_state(self.hosts.clone(), refuse_unknown_hosts));
        Routes { calls, full }
    }

    /// The calls open over WebSocket, which outlive their connections' HTTP handling.
    pub fn websocket_calls(&self) -> &TaskTracker {
        &self.websocket_calls
    }

    /// How many processing streams (`processOrders` calls and browser sessions) are open right now.
    pub fn open_process_streams(&self) -> usize {
        self.processor.open_sessions()
    }

    /// Where the server reports its health.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Tells open calls that shutdown has begun.
    pub fn shutdown(&self) -> &tokio_util::sync::CancellationToken {
        self.processor.shutdown()
    }

    /// The server's metrics, as `/metrics` shows them.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The bytes of client data the server may hold at once (`--max-held-bytes`).
    pub fn budget(&self) -> &Budget {
        self.processor.budget()
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The certificate it serves with, if it serves TLS.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Who may write.
    pub fn write_access(&self) -> &WriteAccess {
        &self.write_access
    }

    /// Where the page's files are served from.
    pub fn web_dir(&self) -> &std::path::Path {
        &self.web_dir
    }
}

/// The gRPC routes alone, and everything the server serves.
struct Routes {
    calls: Router,
    full: Router,
}

/// The server's front door. A native gRPC call (gRPC content type, not
/// gRPC-Web, no `Origin`, no upgrade) skips what only browsers need (the
/// host and origin checks, the WebSocket upgrade, CORS, the gRPC-Web translation);
/// those of the book's service go straight to it. Everything else goes
/// through the full router. Same answers, under two thirds of the work per call.
#[derive(Debug, Clone)]
pub struct Front {
    books: CallService<Books>,
    calls: Router,
    full: Router,
}

/// The path prefix of the book's service.
const BOOKS: &str = "/ecommerce.OrderManagement/";

/// The book's service as it is served: tonic's, its plain unary calls answered by the lane.
type Books = UnaryLane<OrderManagementServer<OrderService>>;

/// tonic's server of the book's service, held to `max_message` bytes both
/// ways, reading gzipped requests, and gzipping answers for clients that
/// accept it when told to `compress`.
pub(crate) fn tonic_books(
    service: OrderService,
    max_message: usize,
    compress: bool,
) -> OrderManagementServer<OrderService> {
    let server = OrderManagementServer::new(service)
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message)
        .accept_compressed(CompressionEncoding::Gzip);
    // tonic gzips a response only for a client whose grpc-accept-encoding names gzip.
    if compress { server.send_compressed(CompressionEncoding::Gzip) } else { server }
}

type BooksFuture = futures::future::Map<
    <CallService<Books> as tower::Service<http::Request<axum::body::Body>>>::Future,
    fn(Result<http::Response<CallBody<tonic::body::Body>>, Infallible>) -> Result<axum::response::Response, Infallible>,
>;

impl<B> tower::Service<http::Request<B>> for Front
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: Into<axum::BoxError> + Send + 'static,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = futures::future::Either<BooksFuture, axum::routing::future::RouteFuture<Infallible>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        use futures::FutureExt;
        let headers = request.headers();
        let native_grpc = headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|value| crate::web::content_type::is_native(value.as_bytes()))
            && !headers.contains_key(http::header::ORIGIN)
            && !headers.contains_key(http::header::UPGRADE);
        if !native_grpc {
            return futures::future::Either::Right(self.full.call(request));
        }
        if !request.uri().path().starts_with(BOOKS) {
            return futures::future::Either::Right(self.calls.call(request));
        }
        let into_axum: fn(Result<http::Response<CallBody<tonic::body::Body>>, Infallible>) -> _ =
            |response| response.map(|response| response.map(axum::body::Body::new));
        // tonic's services, and so the layers around them, are always ready.
        futures::future::Either::Left(tower::Service::call(&mut self.books, request).map(into_axum))
    }
}

/// Answers a gRPC call to a path no service serves with UNIMPLEMENTED, as
/// gRPC clients expect, rather than with the page's 404.
async fn unknown_grpc_method(request: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let grpc = request.headers().get(http::header::CONTENT_TYPE);
    if !grpc.is_some_and(|value| value.as_bytes().starts_with(b"application/grpc")) {
        return next.run(request).await;
    }
    unimplemented(request).await
}

async fn unimplemented(request: axum::extract::Request) -> axum::response::Response {
    let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
    let status = tonic::Status::unimplemented(format!(
        "{} is not a method this server serves",
        crate::echo::cut(request.uri().path())
    ));
    let mut response = status.into_http::<axum::body::Body>();
    if let Some(content_type) = content_type {
        response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
    }
    response
}
