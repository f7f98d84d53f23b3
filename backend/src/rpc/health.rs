//! The standard health service (`grpc.health.v1`), per service: SERVING while
//! the server serves, NOT_SERVING once it is shutting down.
//!
//! Served here rather than by tonic-health's `HealthService`, whose `Watch`
//! of an unknown service fails with NOT_FOUND: the health protocol (and
//! grpc-go, grpc-java and the C++ server) answer it with SERVICE_UNKNOWN and
//! keep the stream open, then follow the service if it appears. tonic-health
//! has no setting for that. Its generated server and messages are used as
//! they are.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use ordermgt_proto::order_management_server::OrderManagementServer;
use ordermgt_proto::order_management_web_server::OrderManagementWebServer;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health as HealthProtocol, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::rpc::service::OrderService;
use crate::rpc::web_service::OrderWebService;

/// The services whose health is reported; `""` is the server as a whole.
const SERVICES: [&str; 3] =
    ["", OrderManagementServer::<OrderService>::NAME, OrderManagementWebServer::<OrderWebService>::NAME];

/// The status of every known service; a service that is absent is unknown.
type Statuses = HashMap<String, ServingStatus>;

/// Where the server reports its health; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    statuses: Arc<watch::Sender<Statuses>>,
}

impl Health {
    /// Reports every service as serving, or not.
    pub fn set_serving(&self, serving: bool) {
        let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
        for service in SERVICES {
            self.set(service, status);
        }
    }

    /// Reports `service` as `status`: every watch of it hears of the change.
    pub fn set(&self, service: &str, status: ServingStatus) {
        self.statuses.send_if_modified(|statuses| statuses.insert(service.to_string(), status) != Some(status));
    }

    /// The `grpc.health.v1.Health` service reading these reports.
    pub fn service(&self) -> HealthServer<Self> {
        HealthServer::new(self.clone())
    }

    fn status_of(&self, service: &str) -> Option<ServingStatus> {
        self.statuses.borrow().get(service).copied()
    }
}

/// A stream of a service's statuses, each sent once, the current one first.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl HealthProtocol for Health {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let service = &request.get_ref().service;
        match self.status_of(service) {
            Some(status) => Ok(Response::new(reply(status))),
            None => {
                Err(Status::not_found(format!("no service {} reports its health here", crate::echo::quoted(service))))
            }
        }
    }

    type WatchStream = WatchStream;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<WatchStream>, Status> {
        let service = request.into_inner().service;
        let statuses = self.statuses.subscribe();
        let changes = futures::stream::unfold((statuses, None), move |(mut statuses, last)| {
            let service = service.clone();
            async move {
                loop {
                    let now =
                        statuses.borrow_and_update().get(&service).copied().unwrap_or(ServingStatus::ServiceUnknown);
                    if last != Some(now) {
                        return Some((Ok(reply(now)), (statuses, Some(now))));
                    }
                    // The sender lives as long as the server does.
                    statuses.changed().await.ok()?;
                }
            }
        });
        Ok(Response::new(Box::pin(changes)))
    }
}

fn reply(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse { status: status.into() }
}

#[cfg(test)]
mod tests {
    use futures::{FutureExt, StreamExt};

    use super::*;

    fn request(service: &str) -> Request<HealthCheckRequest> {
        Request::new(HealthCheckRequest { service: service.to_string() })
    }

    async fn next_status(watch: &mut WatchStream) -> ServingStatus {
        let reply = watch.next().await.expect("the watch goes on").expect("a status");
        ServingStatus::try_from(reply.status).expect("a known status")
    }

    #[tokio::test]
    async fn check_reports_each_service_and_refuses_an_unknown_one() {
        let health = Health::default();
        health.set_serving(true);
        for service in SERVICES {
            let reply = health.check(request(service)).await.expect("known").into_inner();
            assert_eq!(reply.status, i32::from(ServingStatus::Serving), "{service:?}");
        }
        let unknown = health.check(request("no.Such")).await.expect_err("unknown");
        assert_eq!(unknown.code(), tonic::Code::NotFound);
        assert!(unknown.message().contains("\"no.Such\""), "{}", unknown.message());
    }

    #[tokio::test]
    async fn a_watch_of_an_unknown_service_says_so_stays_open_and_follows_it_once_it_appears() {
        let health = Health::default();
        let mut watch = health.watch(request("later.Service")).await.expect("a watch, not an error").into_inner();
        assert_eq!(next_status(&mut watch).await, ServingStatus::ServiceUnknown);
        health.set_serving(true); // other services change: nothing new for this one
        assert!(watch.next().now_or_never().is_none(), "no repeat of an unchanged status");
        health.set("later.Service", ServingStatus::Serving);
        assert_eq!(next_status(&mut watch).await, ServingStatus::Serving);
        health.set("later.Service", ServingStatus::NotServing);
        assert_eq!(next_status(&mut watch).await, ServingStatus::NotServing);
    }

    #[tokio::test]
    async fn a_watch_sends_the_current_status_first_then_each_change_once() {
        let health = Health::default();
        health.set_serving(true);
        let mut watch = health.watch(request("")).await.expect("watch").into_inner();
        assert_eq!(next_status(&mut watch).await, ServingStatus::Serving);
        health.set_serving(true);
        assert!(watch.next().now_or_never().is_none(), "serving again is no change");
        health.set_serving(false);
        assert_eq!(next_status(&mut watch).await, ServingStatus::NotServing);
    }
}
