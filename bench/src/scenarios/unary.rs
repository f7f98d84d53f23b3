//! `unary` and `add`: `getOrder`, or `addOrder` of new orders, at concurrency C
//! for a fixed time.

use std::time::{Duration, Instant};

use crate::connect::{Client, spread};
use crate::report::Row;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) concurrency: usize,
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
}

/// Which call the workers make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `getOrder` of one known order.
    Get,
    /// `addOrder` of a new order each time (ids unique to this run).
    Add,
}

pub(crate) async fn run(clients: &[Client], ids: &[String], case: Case, call: Call) -> Result<Row, String> {
    let id = ids.first().cloned().ok_or("unary needs at least one known order")?;
    let run_tag =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_micros());
    let deadline = Instant::now() + case.duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.concurrency)
        .map(|worker| {
            let mut client = spread(clients, worker);
            let id = id.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    match call {
                        Call::Get => client.get_order(id.clone()).await.map(drop),
                        Call::Add => {
                            let order = ordermgt_proto::Order {
                                id: format!("bench-add-{run_tag}-{worker}-{}", latencies.len()),
                                items: vec!["Benchmark widget".into()],
                                description: "added by ordermgt-bench".into(),
                                price: 1.0,
                                destination: "Benchmark City".into(),
                            };
                            client.add_order(order).await.map(drop)
                        }
                    }
                    .map_err(|status| status.to_string())?;
                    latencies.push(started.elapsed());
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|error| format!("worker: {error}"))??);
    }
    let calls = latencies.len();
    let elapsed = started.elapsed().as_secs_f64();
    let (scenario, method) = match call {
        Call::Get => ("unary", "getOrder"),
        Call::Add => ("add", "addOrder"),
    };
    Ok(Row::new(
        scenario,
        format!("{method} concurrency={} connections={} for {:?}", case.concurrency, case.connections, case.duration),
    )
    .with("calls", calls as f64, "")
    .with("calls/s", calls as f64 / elapsed, "1/s")
    .with_latencies(["latency p50", "latency p99", "latency max"], &mut latencies))
}
