//! What the server counts about itself, exposed to Prometheus at `GET /metrics`.
//!
//! Call metrics follow the names of go-grpc-prometheus (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds`), so existing
//! gRPC dashboards work unchanged; the order metrics are ours (`ordermgt_*`).

use std::sync::{Arc, OnceLock};
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

use crate::rpc::methods::Method;

/// One gRPC method, as labelled on every call metric.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub(crate) grpc_service: &'static str,
    pub(crate) grpc_method: &'static str,
    pub(crate) grpc_type: &'static str,
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

/// What ended a connection abnormally, or reset a stream.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionErrorLabels {
    protocol: &'static str,
    initiator: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamResetLabels {
    initiator: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    revision: &'static str,
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
    connection_errors: Family<ConnectionErrorLabels, Counter>,
    stream_resets: Family<StreamResetLabels, Counter>,
    websocket_calls: Family<RevisionLabels, Counter>,
    connections_shed: Counter,
    connections_refused: Counter,
    calls_refused: Counter,
    held_bytes: PromGauge,
    held_bytes_refused: Counter,
    /// Each method's series, found once: index [`Method::index`], and last for unknown paths.
    per_method: Box<[MethodSeries]>,
}

/// The series of one method, taken from the families on first use (so that
/// only methods called appear) and kept, so a call costs no label hashing.
#[derive(Debug, Default)]
struct MethodSeries {
    started: OnceLock<Counter>,
    seconds: OnceLock<Histogram>,
    /// By `tonic::Code` as a number, 0 to 16.
    handled: [OnceLock<Counter>; 17],
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
        registry.register_collector(Box::new(LogLinesDropped));
        let connection_errors = Family::default();
        registry.register(
            "ordermgt_connection_errors",
            "Connections ended abnormally: GOAWAY with an error sent or received, protocol errors, resets, by protocol, \
             which side began it and why",
            connection_errors.clone(),
        );
        let stream_resets = Family::default();
        registry.register(
            "ordermgt_http2_stream_resets",
            "HTTP/2 streams reset for an error (not a client's cancellation), by which side reset it and why",
            stream_resets.clone(),
        );
        let websocket_calls = Family::default();
        registry.register(
            "ordermgt_websocket_calls",
            "Calls opened over WebSocket, by the grpc-ws revision agreed (the newest the client offered)",
            websocket_calls.clone(),
        );
        let (connections_shed, connections_refused) = (Counter::default(), Counter::default());
        registry.register(
            "ordermgt_connections_shed",
            "Idle connections closed to make room for new ones at --max-connections",
            Counter::clone(&connections_shed),
        );
        registry.register(
            "ordermgt_connections_refused",
            "Connections closed as they were accepted: --max-connections reached with none idle",
            Counter::clone(&connections_refused),
        );
        let calls_refused = Counter::default();
        registry.register(
            "ordermgt_calls_refused",
            "Calls answered RESOURCE_EXHAUSTED as they arrived: --max-calls were open",
            Counter::clone(&calls_refused),
        );
        let (held_bytes, held_bytes_refused) = (PromGauge::default(), Counter::default());
        registry.register(
            "ordermgt_held_bytes",
            "Bytes of client data held now: updates gathering, orders looked up, search pages, unread WebSocket messages",
            held_bytes.clone(),
        );
        registry.register(
            "ordermgt_held_bytes_refused",
            "Requests for more held bytes refused, at --max-held-bytes or a connection's --max-held-bytes-per-connection",
            Counter::clone(&held_bytes_refused),
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
            connection_errors,
            stream_resets,
            websocket_calls,
            connections_shed,
            connections_refused,
            calls_refused,
            held_bytes,
            held_bytes_refused,
            per_method: (0..=crate::rpc::methods::count()).map(|_| MethodSeries::default()).collect(),
        }))
    }
}

impl Metrics {
    pub(crate) fn call_started(&self, method: Option<&'static Method>) {
        let series = self.series(method);
        series.started.get_or_init(|| self.0.started.get_or_create(&MethodLabels::of(method)).clone()).inc();
    }

    pub(crate) fn call_handled(&self, method: Option<&'static Method>, code: tonic::Code, took: Duration) {
        let series = self.series(method);
        let handled = series.handled.get(code as usize).map(|counter| {
            counter.get_or_init(|| {
                let labels = MethodLabels::of(method);
                let handled = HandledLabels {
                    grpc_service: labels.grpc_service,
                    grpc_method: labels.grpc_method,
                    grpc_type: labels.grpc_type,
                    grpc_code: code_name(code),
                };
                self.0.handled.get_or_create(&handled).clone()
            })
        });
        if let Some(handled) = handled {
            handled.inc();
        }
        let seconds =
            series.seconds.get_or_init(|| self.0.handling_seconds.get_or_create(&MethodLabels::of(method)).clone());
        seconds.observe(took.as_secs_f64());
    }

    fn series(&self, method: Option<&'static Method>) -> &MethodSeries {
        let unknown = self.0.per_method.len() - 1;
        let index = method.map_or(unknown, |method| method.index.min(unknown));
        &self.0.per_method[index]
    }

    /// Open processing streams, counted by the guards it hands out.
    pub fn process_streams_open(&self) -> &Gauge {
        &self.0.process_streams_open
    }

    pub(crate) fn shipped(&self, shipments: usize, orders: usize) {
        self.0.shipments_emitted.inc_by(shipments as u64);
        self.0.orders_shipped.inc_by(orders as u64);
    }

    pub(crate) fn rejected_id(&self) {
        self.0.rejected_ids.inc();
    }

    /// A connection ended abnormally: `protocol` is `h2` or `http1`, `initiator` `client` or `server`.
    pub fn connection_error(&self, protocol: &'static str, initiator: &'static str, reason: &'static str) {
        self.0.connection_errors.get_or_create(&ConnectionErrorLabels { protocol, initiator, reason }).inc();
    }

    /// An idle connection was closed to make room for a new one.
    pub fn connection_shed(&self) {
        self.0.connections_shed.inc();
    }

    /// A new connection was closed at once: at the cap, with none idle.
    pub fn connection_refused(&self) {
        self.0.connections_refused.inc();
    }

    /// A call was answered RESOURCE_EXHAUSTED at once: `--max-calls` were open.
    pub fn call_refused(&self) {
        self.0.calls_refused.inc();
    }

    /// The bytes held for clients (see [`crate::budget`]) grew by `taken` and shrank by `given_back`.
    pub fn held_bytes_changed(&self, taken: usize, given_back: usize) {
        let bytes = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.0.held_bytes.inc_by(bytes(taken) - bytes(given_back));
    }

    /// A call was refused more held bytes.
    pub fn held_bytes_refused(&self) {
        self.0.held_bytes_refused.inc();
    }

    /// A call opened over WebSocket in `revision` (its subprotocol).
    pub fn websocket_call(&self, revision: &'static str) {
        self.0.websocket_calls.get_or_create(&RevisionLabels { revision }).inc();
    }

    /// An HTTP/2 stream was reset for an error.
    pub fn stream_reset(&self, initiator: &'static str, reason: &'static str) {
        self.0.stream_resets.get_or_create(&StreamResetLabels { initiator, reason }).inc();
    }

    /// The OpenMetrics text exposition of every metric.
    #[expect(clippy::expect_used, reason = "writing to a String cannot fail")]
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.0.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Log lines dropped because standard output was blocked (see [`crate::logs`]).
#[derive(Debug)]
struct LogLinesDropped;

impl prometheus_client::collector::Collector for LogLinesDropped {
    fn encode(&self, mut encoder: prometheus_client::encoding::DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let dropped = prometheus_client::metrics::counter::ConstCounter::new(crate::logs::dropped());
        let metric = encoder.encode_descriptor(
            "ordermgt_log_lines_dropped",
            "Log lines dropped because standard output was not being read",
            None,
            dropped.metric_type(),
        )?;
        dropped.encode(metric)
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

    pub(crate) fn get(&self) -> usize {
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
    use crate::rpc::methods;

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
        let get_order = methods::lookup("/ecommerce.OrderManagement/getOrder");
        metrics.call_started(get_order);
        metrics.call_handled(get_order, tonic::Code::NotFound, Duration::from_millis(2));
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
