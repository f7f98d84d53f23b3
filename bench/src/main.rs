//! `ordermgt-bench`: drives any server speaking the book's ecommerce.OrderManagement
//! and reports throughput, latency and memory.
//!
//! Run: `cargo run --release -p ordermgt-bench -- --server http://127.0.0.1:50051 bidi unary`;
//! `scripts/bench.sh` builds and starts our server and runs every scenario.

mod connect;
mod report;
mod scenarios;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use report::Row;
use scenarios::{bidi, idle, search, unary, websocket};

/// A load generator for ecommerce.OrderManagement: needs nothing of the server but the book's proto.
#[derive(Debug, Parser)]
#[command(name = "ordermgt-bench", version, about, long_about = None)]
struct Args {
    /// The server to drive.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    /// Also write every figure as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The server's process id: idle-streams then reads its resident memory from /proc.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// The server's processOrders batch size (to tell when a batch is complete).
    #[arg(long, default_value_t = 3)]
    batch_size: usize,
    /// bidi, websocket: concurrent streams (WebSocket calls, one socket each), one case per value.
    #[arg(long, value_delimiter = ',', default_value = "1,64,1024")]
    streams: Vec<usize>,
    /// bidi, websocket: ids sent per case, split evenly over its streams.
    #[arg(long, default_value_t = 2_000_000)]
    total_ids: usize,
    /// HTTP/2 connections to spread streams and calls over (default: one per 100 streams, 4 for unary).
    #[arg(long)]
    connections: Option<usize>,
    /// unary: concurrent getOrder callers.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// unary: how long to call, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// search: how many matching orders the store should hold (added if missing).
    #[arg(long, default_value_t = 100_000)]
    search_orders: usize,
    /// idle-streams: how many streams to open and hold.
    #[arg(long, default_value_t = 10_000)]
    idle_streams: usize,
    /// Which scenarios to run (all by default).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Bidi,
    /// getOrder calls/s.
    Unary,
    /// addOrder calls/s (each a new order: it measures the store's writes).
    Add,
    Search,
    IdleStreams,
    Websocket,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(rows) => {
            println!("{}", report::markdown(&rows));
            if let Some(path) = &args.json {
                let json = serde_json::to_string_pretty(&rows).unwrap_or_default();
                if let Err(error) = std::fs::write(path, json) {
                    eprintln!("ordermgt-bench: cannot write {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("ordermgt-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<Vec<Row>, String> {
    let all =
        [Scenario::Bidi, Scenario::Websocket, Scenario::Unary, Scenario::Add, Scenario::Search, Scenario::IdleStreams];
    let chosen = if args.scenarios.is_empty() { &all[..] } else { &args.scenarios[..] };
    let per_100 = |streams: usize| args.connections.unwrap_or(streams.div_ceil(100)).max(1);
    let mut probe = connect::clients(&args.server, 1).await?;
    let ids = connect::known_ids(&mut probe[0], 64).await?;
    let mut rows = Vec::new();
    // ids/s of processOrders per stream count: native (bidi) and over WebSocket, side by side at the end.
    let mut ids_per_s: BTreeMap<usize, [Option<f64>; 2]> = BTreeMap::new();
    for scenario in chosen {
        eprintln!("ordermgt-bench: running {scenario:?}");
        match scenario {
            Scenario::Bidi => {
                for &streams in &args.streams {
                    let connections = per_100(streams);
                    let clients = connect::clients(&args.server, connections).await?;
                    let ids_per_stream = (args.total_ids / streams.max(1)).max(args.batch_size);
                    let case = bidi::Case { streams, connections, ids_per_stream, batch_size: args.batch_size };
                    let row = bidi::run(&clients, &ids, case).await?;
                    ids_per_s.entry(streams).or_default()[0] = row.figure("ids/s");
                    rows.push(row);
                }
            }
            Scenario::Websocket => {
                for &calls in &args.streams {
                    let ids_per_call = (args.total_ids / calls.max(1)).max(args.batch_size);
                    let case = websocket::Case { calls, ids_per_call, batch_size: args.batch_size };
                    let row = websocket::run(&args.server, &ids, case).await?;
                    ids_per_s.entry(calls).or_default()[1] = row.figure("ids/s");
                    rows.push(row);
                }
            }
            Scenario::Unary | Scenario::Add => {
                let connections = args.connections.unwrap_or(4);
                let clients = connect::clients(&args.server, connections).await?;
                let duration = Duration::from_secs_f64(args.seconds);
                let case = unary::Case { concurrency: args.concurrency, connections, duration };
                let call = if *scenario == Scenario::Add { unary::Call::Add } else { unary::Call::Get };
                rows.push(unary::run(&clients, &ids, case, call).await?);
            }
            Scenario::Search => {
                let clients = connect::clients(&args.server, 4).await?;
                rows.extend(search::run(&args.server, &clients, search::Case { orders: args.search_orders }).await?);
            }
            Scenario::IdleStreams => {
                let connections = per_100(args.idle_streams);
                let clients = connect::clients(&args.server, connections).await?;
                let case = idle::Case { streams: args.idle_streams, connections, server_pid: args.server_pid };
                rows.push(idle::run(&clients, case).await?);
            }
        }
    }
    for (streams, figures) in ids_per_s {
        if let [Some(native), Some(websocket)] = figures {
            let case = format!("streams={streams}: processOrders ids/s, native gRPC (bidi) vs grpc-ws.v1 (websocket)");
            rows.push(
                Row::new("websocket vs bidi", case)
                    .with("native ids/s", native, "1/s")
                    .with("websocket ids/s", websocket, "1/s")
                    .with("websocket/native", websocket / native, ""),
            );
        }
    }
    Ok(rows)
}
