//! `idle-streams`: open S `processOrders` streams, hold them, and read what
//! they cost the server in resident memory.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::connect::{Client, spread};
use crate::report::Row;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) streams: usize,
    pub(crate) connections: usize,
    pub(crate) server_pid: Option<u32>,
}

pub(crate) async fn run(clients: &[Client], case: Case) -> Result<Row, String> {
    let before = case.server_pid.map(resident_kib).transpose()?;
    let mut held = Vec::with_capacity(case.streams);
    // Open in waves so the connections are not flooded with thousands of handshakes at once.
    for wave in (0..case.streams).collect::<Vec<_>>().chunks(256) {
        let opening: Vec<_> = wave
            .iter()
            .map(|&stream| {
                let mut client = spread(clients, stream);
                tokio::spawn(async move {
                    let (ids, outgoing) = mpsc::channel::<String>(1);
                    let shipments = client.process_orders(ReceiverStream::new(outgoing)).await?.into_inner();
                    Ok::<_, tonic::Status>((ids, shipments))
                })
            })
            .collect();
        for open in opening {
            held.push(
                open.await.map_err(|error| format!("opening task: {error}"))?.map_err(|status| status.to_string())?,
            );
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = case.server_pid.map(resident_kib).transpose()?;
    let opened = held.len();
    drop(held);
    let mut row = Row::new("idle-streams", format!("streams={} connections={}", case.streams, case.connections)).with(
        "streams held",
        opened as f64,
        "",
    );
    if let (Some(before), Some(after)) = (before, after) {
        row = row
            .with("server RSS before", before as f64, "KiB")
            .with("server RSS with streams", after as f64, "KiB")
            .with("per stream", after.saturating_sub(before) as f64 / opened.max(1) as f64, "KiB");
    }
    Ok(row)
}

/// `VmRSS` of a process, from `/proc/PID/status`.
pub(crate) fn resident_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("/proc/{pid}/status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}
