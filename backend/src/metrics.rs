//! What the server counts about itself, exposed to Prometheus at `GET /metrics`.
//!
//! Call metrics follow the names of go-grpc-prometheus (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds`), so existing
//! gRPC dashboards work unchanged; the order metrics are ours (`ordermgt_*`).

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge as PromGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::methods::Method;

/// One gRPC method, as labelled on every call metric.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub grpc_service: &'static str,
    pub grpc_method: &'static str,
    pub grpc_type: &'static str,
}

impl MethodLabels {
    /// Labels for a known method, or `unknown` for a path the server does not
    /// serve (so hostile paths cannot mint new series).
    pub fn of(method: Option<&'static Method>) -> Self {
        match method {
            Some(method) => {
                Self { grpc_service: &method.service, grpc_method: &method.name, grpc_type: method.kind.as_str() }
            }
            None => Self { grpc_service: "unknown", grpc_method: "unknown", grpc_type: "unknown" },
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_type: &'static str,
    grpc_code: &'static str,
}

/// The server's metrics; clones share them.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    started: Family<MethodLabels, Counter>,
    handled: Family<HandledLabels, Counter>,
    handling_seconds: Family<MethodLabels, Histogram>,
    process_streams_open: Gauge,
    orders_shipped: Counter,
    shipments_emitted: Counter,
    rejected_ids: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let started = Family::default();
        let handled = Family::default();
        // 100 µs to about 26 s, by factors of 4.
        let handling_seconds = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1e-4, 4.0, 10))
        });
        let process_streams_open = Gauge::default();
        let (orders_shipped, shipments_emitted, rejected_ids) = Default::default();
        registry.register("grpc_server_started", "RPCs started on the server", started.clone());
        registry.register("grpc_server_handled", "RPCs completed on the server, by status code", handled.clone());
        registry.register(
            "grpc_server_handling_seconds",
            "Time from an RPC's arrival to the end of its response",
            handling_seconds.clone(),
        );
        registry.register(
            "ordermgt_process_streams_open",
            "processOrders calls and browser processing sessions open now",
            process_streams_open.0.clone(),
        );
        registry.register(
            "ordermgt_orders_shipped",
            "Orders shipped in combined shipments",
            Counter::clone(&orders_shipped),
        );
        registry.register(
            "ordermgt_shipments_emitted",
            "Combined shipments emitted",
            Counter::clone(&shipments_emitted),
        );
        registry.register(
            "ordermgt_rejected_ids",
            "Order ids refused by processing: unknown, empty or already pending",
            Counter::clone(&rejected_ids),
        );
        Self(Arc::new(Inner {
            registry,
            started,
            handled,
            handling_seconds,
            process_streams_open,
            orders_shipped,
            shipments_emitted,
            rejected_ids,
        }))
    }
}

impl Metrics {
    pub fn call_started(&self, method: &MethodLabels) {
        self.0.started.get_or_create(method).inc();
    }

    pub fn call_handled(&self, method: &MethodLabels, code: tonic::Code, took: Duration) {
        let handled = HandledLabels {
            grpc_service: method.grpc_service,
            grpc_method: method.grpc_method,
            grpc_type: method.grpc_type,
            grpc_code: code_name(code),
        };
        self.0.handled.get_or_create(&handled).inc();
        self.0.handling_seconds.get_or_create(method).observe(took.as_secs_f64());
    }

    /// Open processing streams, counted by the guards it hands out.
    pub fn process_streams_open(&self) -> &Gauge {
        &self.0.process_streams_open
    }

    pub fn shipped(&self, shipments: usize, orders: usize) {
        self.0.shipments_emitted.inc_by(shipments as u64);
        self.0.orders_shipped.inc_by(orders as u64);
    }

    pub fn rejected_id(&self) {
        self.0.rejected_ids.inc();
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.0.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// `GET /metrics`.
pub async fn exposition(axum::extract::State(metrics): axum::extract::State<Metrics>) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
        .into_response()
}

/// The status code's name as gRPC's own libraries print it: `OK`, `NotFound`, ...
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// How many of something are open right now, counted by RAII guards.
#[derive(Debug, Clone, Default)]
pub struct Gauge(PromGauge);

impl Gauge {
    /// Counts one more until the returned guard is dropped.
    pub fn track(&self) -> GaugeGuard {
        self.0.inc();
        GaugeGuard(self.clone())
    }

    pub fn get(&self) -> usize {
        usize::try_from(self.0.get()).unwrap_or(0)
    }
}

/// Keeps its [`Gauge`] one higher while it lives.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        (self.0).0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods;

    #[test]
    fn a_gauge_counts_live_guards() {
        let gauge = Gauge::default();
        let first = gauge.track();
        let second = gauge.track();
        assert_eq!(gauge.get(), 2);
        drop(first);
        assert_eq!(gauge.get(), 1);
        drop(second);
        assert_eq!(gauge.get(), 0);
    }

    #[test]
    fn calls_are_exposed_by_method_and_code() {
        let metrics = Metrics::default();
        let get_order = MethodLabels::of(methods::lookup("/ecommerce.OrderManagement/getOrder"));
        metrics.call_started(&get_order);
        metrics.call_handled(&get_order, tonic::Code::NotFound, Duration::from_millis(2));
        metrics.shipped(2, 3);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"grpc_server_handled_total{grpc_service="ecommerce.OrderManagement",grpc_method="getOrder",grpc_type="unary",grpc_code="NotFound"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("grpc_server_handling_seconds_bucket{"), "{text}");
        assert!(text.contains("ordermgt_orders_shipped_total 3"), "{text}");
        assert!(text.contains("ordermgt_shipments_emitted_total 2"), "{text}");
    }
}
