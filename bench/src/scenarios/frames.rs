//! `bidi-frames` and `bidi-send-first`: `processOrders` as the gRPC libraries
//! people use drive it, each id in a DATA frame of its own.
//!
//! `bidi-frames` reads shipments while it sends, as fast as flow control
//! allows; `bidi-send-first` first sends all the server's windows will take
//! without reading a single reply, and only then starts to read (and sends
//! the rest). A server must hold such clients back with flow control, never
//! close their connection.

use std::time::Instant;

use ordermgt_proto::CombinedShipment;
use tokio::sync::mpsc;

use super::bidi::{Case, Tally, enough_known, row};
use crate::framed::{Call, Connection};
use crate::report::Row;

const PROCESS_ORDERS: &str = "/ecommerce.OrderManagement/processOrders";

/// When the client starts reading its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// From the start, while it sends.
    WhileSending,
    /// Only once the server's windows take no more.
    AfterWindowFills,
}

/// Runs `case` (as `bidi` would, with this client) reading as `reading` says.
pub(crate) async fn run(server: &str, ids: &[String], case: Case, reading: Reading) -> Result<Row, String> {
    let scenario = match reading {
        Reading::WhileSending => "bidi-frames",
        Reading::AfterWindowFills => "bidi-send-first",
    };
    enough_known(scenario, ids, case.batch_size)?;
    let mut connections = Vec::with_capacity(case.connections);
    for _ in 0..case.connections.max(1) {
        connections.push(Connection::open(server).await?);
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.streams)
        .map(|stream| {
            let connection = connections[stream % connections.len()].clone();
            tokio::spawn(one_stream(connection, ids.to_vec(), stream, case, reading))
        })
        .collect();
    let mut total = Tally::default();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.map_err(|error| format!("stream task: {error}"))? {
            Ok(tally) => total.merge(tally),
            Err(failure) => failures.push(failure),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // What the streams that ended well sent (a failed stream's figures are not ids/s).
    let sent = (case.streams - failures.len()) * case.ids_per_stream;
    let closed = connections.iter().filter_map(Connection::failure).next();
    if let Some(first) = failures.first() {
        eprintln!(
            "ordermgt-bench: {scenario}: {} of {} streams failed; the first: {first}",
            failures.len(),
            case.streams
        );
    }
    let described = format!(
        "streams={} connections={} ids/stream={} batch={} (a DATA frame per id)",
        case.streams, case.connections, case.ids_per_stream, case.batch_size
    );
    let row = row(scenario, described, sent, total, elapsed).with("streams failed", failures.len() as f64, "").with(
        "connections closed by an error",
        connections.iter().filter(|c| c.failure().is_some()).count() as f64,
        "",
    );
    if let Some(closed) = closed {
        eprintln!("ordermgt-bench: {scenario}: a connection closed: {closed}");
    }
    Ok(row)
}

/// One stream: its ids (cycling through the known ones from an offset of its
/// own), each in a frame of its own, and every shipment read.
async fn one_stream(
    connection: Connection,
    ids: Vec<String>,
    stream: usize,
    case: Case,
    reading: Reading,
) -> Result<Tally, String> {
    let (sent_at, mut batch_sent) = mpsc::unbounded_channel::<Instant>();
    let mut call: Call = connection.call(PROCESS_ORDERS).await?;
    let id = |n: usize| &ids[(stream + n) % ids.len()];
    let mut sent = 0;
    if reading == Reading::AfterWindowFills {
        // Without a single read: as many ids as the windows take.
        while sent < case.ids_per_stream && call.requests.try_send(id(sent))? {
            note_batch_end(sent, case.batch_size, &sent_at);
            sent += 1;
        }
    }
    let (mut requests, responses) = call.split();
    let batch_size = case.batch_size;
    let reader = tokio::spawn(async move {
        let mut responses = responses.responses().await?;
        let mut tally = Tally::default();
        while let Some(shipment) = responses.next::<CombinedShipment>().await? {
            tally.add(&shipment, batch_size, &mut batch_sent);
        }
        Ok::<_, String>(tally)
    });
    while sent < case.ids_per_stream {
        requests.send(id(sent)).await?;
        note_batch_end(sent, case.batch_size, &sent_at);
        sent += 1;
    }
    requests.finish()?;
    reader.await.map_err(|error| error.to_string())?
}

fn note_batch_end(sent: usize, batch_size: usize, sent_at: &mpsc::UnboundedSender<Instant>) {
    if (sent + 1).is_multiple_of(batch_size) {
        let _ = sent_at.send(Instant::now());
    }
}
