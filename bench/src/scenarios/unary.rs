//! `unary` and `add`: `getOrder`, or `addOrder` of new orders, at concurrency C
//! for a fixed time.
//!
//! The calls go through the lean HTTP/2 client of [`crate::framed`] rather
//! than tonic's: client and server share this machine's cores, and a client
//! that spends more per call than the server hides the server's own cost
//! (as h2load, the reference for this figure, keeps its own small).

use std::time::{Duration, Instant};

use crate::framed::Connection;
use crate::report::Row;

const GET_ORDER: &str = "/ecommerce.OrderManagement/getOrder";
const ADD_ORDER: &str = "/ecommerce.OrderManagement/addOrder";

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

pub(crate) async fn run(server: &str, ids: &[String], case: Case, call: Call) -> Result<Row, String> {
    let (server, ids) = (server.to_string(), ids.to_vec());
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the client's runtime: {error}"))?;
        runtime.block_on(run_here(&server, &ids, case, call))
    });
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|error| format!("client thread: {error}"))?
        .map_err(|_| "the client thread panicked".to_string())?
}

async fn run_here(server: &str, ids: &[String], case: Case, call: Call) -> Result<Row, String> {
    let id = ids.first().cloned().ok_or("unary needs at least one known order")?;
    let mut connections = Vec::with_capacity(case.connections);
    for _ in 0..case.connections.max(1) {
        connections.push(Connection::open(server).await?);
    }
    let run_tag =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_micros());
    let deadline = Instant::now() + case.duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.concurrency)
        .map(|worker| {
            let connection = connections[worker % connections.len()].clone();
            // What each call sends, made once: its address and (for getOrder) its request.
            let target = connection.target(match call {
                Call::Get => GET_ORDER,
                Call::Add => ADD_ORDER,
            });
            let get = crate::framed::encode(&id);
            tokio::spawn(async move {
                let target = target?;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    match call {
                        Call::Get => {
                            connection.unary::<ordermgt_proto::Order>(target.clone(), get.clone()).await.map(drop)?
                        }
                        Call::Add => {
                            let order = ordermgt_proto::Order {
                                id: format!("bench-add-{run_tag}-{worker}-{}", latencies.len()),
                                items: vec!["Benchmark widget".into()],
                                description: "added by ordermgt-bench".into(),
                                price: 1.0,
                                destination: "Benchmark City".into(),
                            };
                            let frame = crate::framed::encode(&order);
                            connection.unary::<String>(target.clone(), frame).await.map(drop)?
                        }
                    }
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
