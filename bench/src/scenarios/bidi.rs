//! `bidi`: `processOrders` with C concurrent streams over K connections, each
//! sending N ids as fast as flow control allows while reading shipments.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::connect::{Client, spread};
use crate::report::Row;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) streams: usize,
    pub(crate) connections: usize,
    pub(crate) ids_per_stream: usize,
    pub(crate) batch_size: usize,
}

/// What one stream saw.
#[derive(Debug, Default)]
struct Tally {
    orders: usize,
    shipments: usize,
    rejections: usize,
    latencies: Vec<Duration>,
}

pub(crate) async fn run(clients: &[Client], ids: &[String], case: Case) -> Result<Row, String> {
    if ids.len() < case.batch_size {
        return Err(format!(
            "bidi needs at least {} known orders (the batch size); the server lists {}",
            case.batch_size,
            ids.len()
        ));
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.streams)
        .map(|stream| tokio::spawn(one_stream(spread(clients, stream), ids.to_vec(), stream, case)))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.map_err(|error| format!("stream task: {error}"))??;
        total.orders += tally.orders;
        total.shipments += tally.shipments;
        total.rejections += tally.rejections;
        total.latencies.extend(tally.latencies);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sent = case.streams * case.ids_per_stream;
    Ok(Row::new(
        "bidi",
        format!(
            "streams={} connections={} ids/stream={} batch={}",
            case.streams, case.connections, case.ids_per_stream, case.batch_size
        ),
    )
    .with("ids sent", sent as f64, "")
    .with("orders shipped", total.orders as f64, "")
    .with("rejections", total.rejections as f64, "")
    .with("ids/s", sent as f64 / elapsed, "1/s")
    .with("shipments/s", total.shipments as f64 / elapsed, "1/s")
    .with_latencies(["batch latency p50", "batch latency p99", "batch latency max"], &mut total.latencies))
}

/// Sends the ids (cycling through the known ones from an offset of its own)
/// and reads shipments; measures, for each full batch, the time from sending
/// its last id to receiving its last order.
async fn one_stream(mut client: Client, ids: Vec<String>, stream: usize, case: Case) -> Result<Tally, String> {
    let (sent_at, mut batch_sent) = mpsc::unbounded_channel::<Instant>();
    let batch = case.batch_size;
    let outgoing = futures::stream::iter(0..case.ids_per_stream).map(move |n| {
        if (n + 1) % batch == 0 {
            let _ = sent_at.send(Instant::now());
        }
        ids[(stream + n) % ids.len()].clone()
    });
    let mut shipments = client.process_orders(outgoing).await.map_err(|status| status.to_string())?.into_inner();
    let mut tally = Tally::default();
    let mut left_in_batch = batch;
    while let Some(shipment) = shipments.message().await.map_err(|status| status.to_string())? {
        if shipment.orders_list.is_empty() {
            tally.rejections += 1; // a rejection notice, or an empty shipment from another server
            continue;
        }
        tally.shipments += 1;
        tally.orders += shipment.orders_list.len();
        left_in_batch = left_in_batch.saturating_sub(shipment.orders_list.len());
        if left_in_batch == 0 {
            if let Ok(sent) = batch_sent.try_recv() {
                tally.latencies.push(sent.elapsed());
            }
            left_in_batch = batch;
        }
    }
    Ok(tally)
}
