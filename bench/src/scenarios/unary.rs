//! `unary`: `getOrder` at concurrency C for a fixed time.

use std::time::{Duration, Instant};

use crate::connect::{Client, spread};
use crate::report::Row;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) concurrency: usize,
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
}

pub(crate) async fn run(clients: &[Client], ids: &[String], case: Case) -> Result<Row, String> {
    let id = ids.first().cloned().ok_or("unary needs at least one known order")?;
    let deadline = Instant::now() + case.duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.concurrency)
        .map(|worker| {
            let mut client = spread(clients, worker);
            let id = id.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let call = Instant::now();
                    client.get_order(id.clone()).await.map_err(|status| status.to_string())?;
                    latencies.push(call.elapsed());
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
    Ok(Row::new(
        "unary",
        format!("getOrder concurrency={} connections={} for {:?}", case.concurrency, case.connections, case.duration),
    )
    .with("calls", calls as f64, "")
    .with("calls/s", calls as f64 / elapsed, "1/s")
    .with_latencies(["latency p50", "latency p99", "latency max"], &mut latencies))
}
