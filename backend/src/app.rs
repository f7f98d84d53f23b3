//! The HTTP application: gRPC and gRPC-Web routes, origin checks, and the home page.

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::response::Html;
use ordermgt_proto::order_management_server::OrderManagementServer;
use tonic::service::{LayerExt, Routes};
use tonic_web::GrpcWebLayer;

use crate::config::Config;
use crate::origin::{OriginPolicy, refuse_foreign_origins};
use crate::processing::Processor;
use crate::service::OrderService;
use crate::store::{MemoryStore, OrderStore, sample_orders};

/// Everything one server instance serves, built from its [`Config`].
#[derive(Debug, Clone)]
pub struct App {
    service: OrderService,
    origins: OriginPolicy,
}

impl App {
    /// An app over a fresh in-memory store holding the book's sample orders.
    pub fn new(config: &Config) -> Self {
        Self::with_store(config, Arc::new(MemoryStore::with_orders(sample_orders())))
    }

    pub fn with_store(config: &Config, store: Arc<dyn OrderStore>) -> Self {
        let processor = Processor::new(Arc::clone(&store), config.batch_size);
        Self { service: OrderService::new(store, processor), origins: OriginPolicy::new(&config.cors_origins) }
    }

    /// The routes: the gRPC service (native and gRPC-Web) and, for any other path, the home page.
    pub fn router(&self) -> Router {
        // GrpcWebLayer wraps the gRPC service alone: around ordinary HTTP
        // routes it would answer every request with 400.
        let grpc = GrpcWebLayer::new().named_layer(OrderManagementServer::new(self.service.clone()));
        Routes::new(grpc)
            .prepare()
            .into_axum_router()
            .layer(self.origins.cors_layer())
            .layer(middleware::from_fn_with_state(self.origins.clone(), refuse_foreign_origins))
            .fallback(home)
    }

    /// How many `processOrders` calls are running right now.
    pub fn open_process_streams(&self) -> usize {
        self.service.open_process_streams()
    }
}

/// The router of a default app for `config`.
pub fn app(config: &Config) -> Router {
    App::new(config).router()
}

async fn home() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><title>ordermgt</title>",
        "<p>ordermgt serves <code>ecommerce.OrderManagement</code> here over native gRPC and gRPC-Web.",
        " Try <code>ordermgt search \"\"</code>.</p>",
    ))
}
