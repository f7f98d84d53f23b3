//! The HTTP application: the gRPC services (native and gRPC-Web) behind origin
//! checks, and the page's static files for every other path.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use ordermgt_proto::order_management_server::OrderManagementServer;
use ordermgt_proto::order_management_web_server::OrderManagementWebServer;
use tonic::service::{LayerExt, Routes};
use tonic_web::GrpcWebLayer;

use crate::config::Config;
use crate::health::Health;
use crate::origin::{OriginPolicy, refuse_foreign_origins};
use crate::page;
use crate::processing::Processor;
use crate::service::OrderService;
use crate::store::{MemoryStore, OrderStore, sample_orders};
use crate::web_service::OrderWebService;

/// Everything one server instance serves, built from its [`Config`].
#[derive(Debug, Clone)]
pub struct App {
    service: OrderService,
    web_service: OrderWebService,
    origins: OriginPolicy,
    processor: Processor,
    web_dir: PathBuf,
    health: Health,
}

impl App {
    /// An app over a fresh in-memory store holding the book's sample orders.
    pub fn new(config: &Config) -> Self {
        Self::with_store(config, Arc::new(MemoryStore::with_orders(sample_orders())))
    }

    pub fn with_store(config: &Config, store: Arc<dyn OrderStore>) -> Self {
        let processor = Processor::new(Arc::clone(&store), config.batch_size);
        Self {
            service: OrderService::new(Arc::clone(&store), processor.clone()),
            web_service: OrderWebService::new(store, processor.clone()),
            origins: OriginPolicy::new(&config.cors_origins),
            processor,
            web_dir: page::resolve_dir(config.web_dir.as_deref()),
            health: Health::default(),
        }
    }

    /// The routes: both order services and health, each reachable natively
    /// and over gRPC-Web; server reflection (v1 and v1alpha) natively; and,
    /// for any other path, the page.
    pub fn router(&self) -> Router {
        // GrpcWebLayer wraps the gRPC services alone: around the static
        // files it would answer every ordinary request with 400.
        let grpc_web = GrpcWebLayer::new();
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(ordermgt_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        Routes::new(grpc_web.named_layer(OrderManagementServer::new(self.service.clone())))
            .add_service(grpc_web.named_layer(OrderManagementWebServer::new(self.web_service.clone())))
            .add_service(grpc_web.named_layer(self.health.service()))
            .add_service(reflection().build_v1().expect("our own descriptors are valid"))
            .add_service(reflection().build_v1alpha().expect("our own descriptors are valid"))
            .prepare()
            .into_axum_router()
            .layer(self.origins.cors_layer())
            .layer(middleware::from_fn_with_state(self.origins.clone(), refuse_foreign_origins))
            .fallback_service(page::router(self.web_dir.clone()))
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
    pub fn shutdown(&self) -> &crate::shutdown::Shutdown {
        self.processor.shutdown()
    }

    /// Where the page's files are served from.
    pub fn web_dir(&self) -> &std::path::Path {
        &self.web_dir
    }
}

/// The router of a default app for `config`.
pub fn app(config: &Config) -> Router {
    App::new(config).router()
}
