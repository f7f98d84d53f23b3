//! The standard health service (`grpc.health.v1`), per service: SERVING while
//! the server serves, NOT_SERVING once it is shutting down.

use ordermgt_proto::order_management_server::OrderManagementServer;
use ordermgt_proto::order_management_web_server::OrderManagementWebServer;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::service::OrderService;
use crate::web_service::OrderWebService;

/// The services whose health is reported; `""` is the server as a whole.
const SERVICES: [&str; 3] =
    ["", OrderManagementServer::<OrderService>::NAME, OrderManagementWebServer::<OrderWebService>::NAME];

/// Where the server reports its health.
#[derive(Debug, Clone)]
pub struct Health {
    reporter: HealthReporter,
}

impl Default for Health {
    fn default() -> Self {
        Self { reporter: HealthReporter::new() }
    }
}

impl Health {
    /// Reports every service as serving, or not.
    pub async fn set_serving(&self, serving: bool) {
        let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
        for service in SERVICES {
            self.reporter.set_service_status(service, status).await;
        }
    }

    /// The `grpc.health.v1.Health` service reading these reports.
    pub fn service(&self) -> HealthServer<HealthService> {
        HealthServer::new(HealthService::from_health_reporter(self.reporter.clone()))
    }
}
