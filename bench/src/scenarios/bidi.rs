//! `bidi`: `processOrders` with C concurrent streams over K connections, each
//! sending N ids as fast as flow control allows while reading shipments.

use std::time::{Duration, Instant};

use futures::StreamExt;
use ordermgt_proto::CombinedShipment;
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

/// What one stream saw: counts, and for each full batch the time from sending
/// its last id to receiving its last order.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    orders: usize,
    shipments: usize,
    rejections: usize,
    latencies: Vec<Duration>,
    /// Orders still to arrive before the current batch is complete.
    left_in_batch: usize,
}

impl Tally {
    /// Counts one message of the response stream; `batch_sent` has the time
    /// each batch's last id was sent.
    pub(crate) fn add(
        &mut self,
        shipment: &CombinedShipment,
        batch_size: usize,
        batch_sent: &mut mpsc::UnboundedReceiver<Instant>,
    ) {
        if shipment.orders_list.is_empty() {
            self.rejections += 1; // a rejection notice, or an empty shipment from another server
            return;
        }
        if self.left_in_batch == 0 {
            self.left_in_batch = batch_size;
        }
        self.shipments += 1;
        self.orders += shipment.orders_list.len();
        self.left_in_batch = self.left_in_batch.saturating_sub(shipment.orders_list.len());
        if self.left_in_batch == 0
            && let Ok(sent) = batch_sent.try_recv()
        {
            self.latencies.push(sent.elapsed());
        }
    }

    pub(crate) fn orders(&self) -> usize {
        self.orders
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.orders += other.orders;
        self.shipments += other.shipments;
        self.rejections += other.rejections;
        self.latencies.extend(other.latencies);
    }
}

/// The figures of a `processOrders` case: `sent` ids in `elapsed` seconds, and what came back.
pub(crate) fn row(scenario: &'static str, case: String, sent: usize, mut total: Tally, elapsed: f64) -> Row {
    Row::new(scenario, case)
        .with("ids sent", sent as f64, "")
        .with("orders shipped", total.orders as f64, "")
        .with("rejections", total.rejections as f64, "")
        .with("ids/s", sent as f64 / elapsed, "1/s")
        .with("shipments/s", total.shipments as f64 / elapsed, "1/s")
        .with_latencies(["batch latency p50", "batch latency p99", "batch latency max"], &mut total.latencies)
}

/// Refuses to run `scenario` over fewer known orders than a batch holds: no
/// batch would ever fill.
pub(crate) fn enough_known(scenario: &str, ids: &[String], batch_size: usize) -> Result<(), String> {
    if ids.len() < batch_size {
        return Err(format!(
            "{scenario} needs at least {batch_size} known orders (the batch size); the server lists {}",
            ids.len()
        ));
    }
    Ok(())
}

pub(crate) async fn run(clients: &[Client], ids: &[String], case: Case) -> Result<Row, String> {
    enough_known("bidi", ids, case.batch_size)?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.streams)
        .map(|stream| tokio::spawn(one_stream(spread(clients, stream), ids.to_vec(), stream, case)))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await.map_err(|error| format!("stream task: {error}"))??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sent = case.streams * case.ids_per_stream;
    let described = format!(
        "streams={} connections={} ids/stream={} batch={}",
        case.streams, case.connections, case.ids_per_stream, case.batch_size
    );
    Ok(row("bidi", described, sent, total, elapsed))
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
    while let Some(shipment) = shipments.message().await.map_err(|status| status.to_string())? {
        tally.add(&shipment, batch, &mut batch_sent);
    }
    Ok(tally)
}
