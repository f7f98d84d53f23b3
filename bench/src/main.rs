//! `ordermgt-bench`: drives any server speaking the book's ecommerce.OrderManagement
//! and reports throughput, latency and memory.
//!
//! Run: `cargo run --release -p ordermgt-bench -- --server http://127.0.0.1:50051 bidi unary`;
//! `scripts/bench.sh` builds and starts our server and runs every scenario.

mod compare;
mod connect;
mod framed;
mod process;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use report::Row;
use scenarios::{bidi, frames, h2load, idle, search, unary, websocket};

/// jemalloc, as the server has: the client allocates for every call it makes,
/// and on a machine it shares with the server, what it spends is taken from the
/// server it measures (glibc's malloc and free were a fifteenth of its time in `unary`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A load generator for ecommerce.OrderManagement: needs nothing of the server but the book's proto.
#[derive(Debug, Parser)]
#[command(name = "ordermgt-bench", version, about, long_about = None)]
struct Args {
    /// A server to drive: `URL`, or `NAME=URL` to name it in the report. Repeat it to compare
    /// servers: each case then runs on each in turn, round after round (see --rounds).
    #[arg(long = "server", value_name = "[NAME=]URL", default_value = "http://127.0.0.1:50051")]
    servers: Vec<String>,
    /// With several servers: the one the others are compared with (ratios of the headline figures).
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// The ratio to the baseline each server should reach; the report marks those that do not.
    #[arg(long, default_value_t = 1.5)]
    target: f64,
    /// How many times to run each case on each server, interleaved; the report gives medians.
    #[arg(long, env = "ORDERMGT_BENCH_ROUNDS", default_value_t = 1)]
    rounds: usize,
    /// Also write every figure as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The server's process id (`PID`, or `NAME=PID` per server): idle-streams then reads its
    /// resident memory from /proc.
    #[arg(long = "server-pid", value_name = "[NAME=]PID")]
    server_pids: Vec<String>,
    /// The server's processOrders batch size (to tell when a batch is complete).
    #[arg(long, default_value_t = 3)]
    batch_size: usize,
    /// bidi, bidi-frames, bidi-send-first, websocket: concurrent streams (WebSocket calls, one
    /// socket each), one case per value.
    #[arg(long, value_delimiter = ',', default_value = "1,64,1024")]
    streams: Vec<usize>,
    /// bidi, bidi-frames, bidi-send-first, websocket: ids sent per case, split evenly over its streams.
    #[arg(long, env = "ORDERMGT_BENCH_TOTAL_IDS", default_value_t = 2_000_000)]
    total_ids: usize,
    /// HTTP/2 connections to spread streams and calls over (default: one per 100 streams, 4 for unary).
    #[arg(long)]
    connections: Option<usize>,
    /// unary: concurrent getOrder callers.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// h2load: how many getOrder calls h2load makes per case.
    #[arg(long, default_value_t = 300_000)]
    h2load_calls: usize,
    /// unary: how long to call, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// search: how many matching orders the store should hold (added if missing).
    #[arg(long, default_value_t = 100_000)]
    search_orders: usize,
    /// idle-streams: how many streams to open and hold (the server serves 4,096 calls at once by default: --max-calls).
    #[arg(long, default_value_t = 4_000)]
    idle_streams: usize,
    /// idle-websockets: how many WebSocket calls to open and hold (each holds a connection: --max-connections).
    #[arg(long, default_value_t = 2_000)]
    idle_websockets: usize,
    /// bidi, search, idle-streams (the scenarios on tonic's client): gzip requests and ask for
    /// gzipped responses (which a server gives only if it compresses responses at all).
    #[arg(long)]
    gzip: bool,
    /// Which scenarios to run (all by default).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// processOrders through tonic's client, which packs ready ids into shared DATA frames.
    Bidi,
    /// processOrders with each id in a DATA frame of its own (as grpc-go, grpcio, grpc-js send), reading while sending.
    BidiFrames,
    /// As bidi-frames, but sending all the windows take before reading any reply.
    BidiSendFirst,
    /// getOrder calls/s.
    Unary,
    /// addOrder calls/s (each a new order: it measures the store's writes).
    Add,
    /// getOrder calls/s as nghttp2's h2load drives it (needs h2load on the PATH).
    H2load,
    Search,
    IdleStreams,
    /// WebSocket processOrders calls opened (metadata sent) and held idle: the server's memory per call.
    IdleWebsockets,
    /// processOrders over grpc-ws.v2 (the page's transport), frames gathered into WebSocket messages.
    Websocket,
    /// The same over grpc-ws.v1, a frame per WebSocket message, for comparison.
    WebsocketV1,
}

/// A server under test.
#[derive(Debug, Clone)]
struct Server {
    name: String,
    url: String,
    pid: Option<u32>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    connect::GZIP.store(args.gzip, std::sync::atomic::Ordering::Relaxed);
    match run(&args).await {
        Ok(rows) => {
            let comparison = compare::of(&rows, args.baseline.as_deref(), args.target);
            if !comparison.is_empty() {
                println!("{}", compare::markdown(&comparison, args.baseline.as_deref().unwrap_or(""), args.target));
            }
            let mut medians = report::medians(&rows);
            medians.extend(compare::websocket_vs_native(&medians));
            println!("{}", report::markdown(&medians));
            if let Some(path) = &args.json {
                let json = serde_json::json!({ "rows": rows, "medians": medians, "comparison": comparison });
                let json = serde_json::to_string_pretty(&json).unwrap_or_default();
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

fn servers(args: &Args) -> Result<Vec<Server>, String> {
    let mut servers = Vec::new();
    for (index, given) in args.servers.iter().enumerate() {
        let (name, url) = match given.split_once('=') {
            Some((name, url)) if !name.contains("://") => (name.to_string(), url.to_string()),
            _ if args.servers.len() == 1 => ("server".to_string(), given.clone()),
            _ => (format!("server{}", index + 1), given.clone()),
        };
        servers.push(Server { name, url, pid: None });
    }
    for given in &args.server_pids {
        let (name, pid) = given.split_once('=').map_or((None, given.as_str()), |(name, pid)| (Some(name), pid));
        let pid: u32 = pid.parse().map_err(|_| format!("--server-pid {given:?}: not a process id"))?;
        let server = match name {
            Some(name) => servers.iter_mut().find(|server| server.name == name),
            None => servers.first_mut(),
        };
        server.ok_or_else(|| format!("--server-pid {given:?}: no such server"))?.pid = Some(pid);
    }
    if let Some(baseline) = &args.baseline
        && !servers.iter().any(|server| &server.name == baseline)
    {
        return Err(format!("--baseline {baseline}: no server of that name"));
    }
    Ok(servers)
}

/// One case of one scenario, as run on each server.
#[derive(Debug, Clone, Copy)]
enum Job {
    Bidi { streams: usize },
    Frames { streams: usize, reading: frames::Reading },
    Websocket { calls: usize, revision: grpc_ws::Revision },
    Unary(unary::Call),
    H2load,
    Search,
    IdleStreams,
    IdleWebsockets,
}

async fn run(args: &Args) -> Result<Vec<Row>, String> {
    let all = [
        Scenario::Bidi,
        Scenario::BidiFrames,
        Scenario::BidiSendFirst,
        Scenario::Websocket,
        Scenario::Unary,
        Scenario::Add,
        Scenario::Search,
        Scenario::IdleStreams,
        Scenario::IdleWebsockets,
    ];
    let chosen = if args.scenarios.is_empty() { &all[..] } else { &args.scenarios[..] };
    let servers = servers(args)?;
    let mut known = Vec::with_capacity(servers.len());
    for server in &servers {
        let mut probe = connect::clients(&server.url, 1).await?;
        known.push(connect::known_ids(&mut probe[0], 64).await?);
    }
    let mut jobs = Vec::new();
    for scenario in chosen {
        match scenario {
            Scenario::Bidi => jobs.extend(args.streams.iter().map(|&streams| Job::Bidi { streams })),
            Scenario::BidiFrames | Scenario::BidiSendFirst => {
                let reading = if *scenario == Scenario::BidiFrames {
                    frames::Reading::WhileSending
                } else {
                    frames::Reading::AfterWindowFills
                };
                jobs.extend(args.streams.iter().map(|&streams| Job::Frames { streams, reading }));
            }
            Scenario::Websocket => {
                jobs.extend(args.streams.iter().map(|&calls| Job::Websocket { calls, revision: grpc_ws::Revision::V2 }))
            }
            Scenario::WebsocketV1 => {
                jobs.extend(args.streams.iter().map(|&calls| Job::Websocket { calls, revision: grpc_ws::Revision::V1 }))
            }
            Scenario::Unary => jobs.push(Job::Unary(unary::Call::Get)),
            Scenario::Add => jobs.push(Job::Unary(unary::Call::Add)),
            Scenario::H2load => jobs.push(Job::H2load),
            Scenario::Search => jobs.push(Job::Search),
            Scenario::IdleStreams => jobs.push(Job::IdleStreams),
            Scenario::IdleWebsockets => jobs.push(Job::IdleWebsockets),
        }
    }
    let mut rows = Vec::new();
    for job in jobs {
        // Searches and idle streams add orders and hold memory: once per server is enough.
        let rounds =
            if matches!(job, Job::Search | Job::IdleStreams | Job::IdleWebsockets) { 1 } else { args.rounds.max(1) };
        for round in 1..=rounds {
            for (server, ids) in servers.iter().zip(&known) {
                eprintln!("ordermgt-bench: {job:?} on {} (round {round} of {rounds})", server.name);
                for row in run_job(args, server, ids, job).await? {
                    rows.push(row.on(&server.name, round));
                }
            }
        }
    }
    Ok(rows)
}

async fn run_job(args: &Args, server: &Server, ids: &[String], job: Job) -> Result<Vec<Row>, String> {
    let per_100 = |streams: usize| args.connections.unwrap_or(streams.div_ceil(100)).max(1);
    let url = &server.url;
    Ok(match job {
        Job::Bidi { streams } => {
            let connections = per_100(streams);
            let clients = connect::clients(url, connections).await?;
            let ids_per_stream = (args.total_ids / streams.max(1)).max(args.batch_size);
            let case = bidi::Case { streams, connections, ids_per_stream, batch_size: args.batch_size };
            vec![bidi::run(&clients, ids, case).await?]
        }
        Job::Frames { streams, reading } => {
            let connections = per_100(streams);
            let ids_per_stream = (args.total_ids / streams.max(1)).max(args.batch_size);
            let case = bidi::Case { streams, connections, ids_per_stream, batch_size: args.batch_size };
            vec![frames::run(url, ids, case, reading).await?]
        }
        Job::Websocket { calls, revision } => {
            let ids_per_call = (args.total_ids / calls.max(1)).max(args.batch_size);
            let case = websocket::Case { calls, ids_per_call, batch_size: args.batch_size, revision };
            vec![websocket::run(url, ids, case).await?]
        }
        Job::Unary(call) => {
            let connections = args.connections.unwrap_or(4);
            let duration = Duration::from_secs_f64(args.seconds);
            let case = unary::Case { concurrency: args.concurrency, connections, duration };
            let cpu = CpuClock::start(server.pid)?;
            let row = unary::run(url, ids, case, call).await?;
            vec![cpu.charge(row, "calls")?]
        }
        Job::H2load => {
            let id = ids.first().ok_or("h2load needs at least one known order")?;
            let cpu = CpuClock::start(server.pid)?;
            let row = h2load::run(url, id, h2load::Case { calls: args.h2load_calls })?;
            vec![cpu.charge(row, "succeeded")?]
        }
        Job::Search => {
            let clients = connect::clients(url, 4).await?;
            search::run(url, &clients, search::Case { orders: args.search_orders }).await?
        }
        Job::IdleWebsockets => vec![websocket::idle(url, args.idle_websockets, server.pid).await?],
        Job::IdleStreams => {
            let connections = per_100(args.idle_streams);
            let clients = connect::clients(url, connections).await?;
            let case = idle::Case { streams: args.idle_streams, connections, server_pid: server.pid };
            vec![idle::run(&clients, case).await?]
        }
    })
}

/// The server's CPU time around a case, when its process id is known.
struct CpuClock {
    at_start: Option<(u32, Duration)>,
}

impl CpuClock {
    fn start(pid: Option<u32>) -> Result<Self, String> {
        Ok(Self { at_start: pid.map(|pid| process::cpu_time(pid).map(|used| (pid, used))).transpose()? })
    }

    /// `row` with what the server spent on each of its calls (its figure
    /// named `calls`): the figure to set beside calls/s, which on a machine
    /// the client shares also moves with what the client leaves the server.
    fn charge(self, row: Row, calls: &str) -> Result<Row, String> {
        let (Some((pid, before)), Some(calls)) = (self.at_start, row.figure(calls)) else { return Ok(row) };
        let spent = process::cpu_time(pid)?.saturating_sub(before);
        Ok(row.with(compare::SERVER_CPU, spent.as_secs_f64() * 1e6 / calls.max(1.0), "µs"))
    }
}
