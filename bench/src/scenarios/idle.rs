//! `idle-streams`: open S `processOrders` streams, hold them, and read what
//! they cost the server in resident memory.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::connect::{Client, spread};
use crate::process::resident_kib;
use crate::report::Row;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) streams: usize,
    pub(crate) connections: usize,
    pub(crate) server_pid: Option<u32>,
}

pub(crate) async fn run(clients: &[Client], case: Case) -> Result<Row, String> {
    let described = format!("streams={} connections={}", case.streams, case.connections);
    let open = async {
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
                let opened = open.await.map_err(|error| format!("opening task: {error}"))?;
                held.push(opened.map_err(|status| status.to_string())?);
            }
        }
        Ok(held)
    };
    let names = ["streams held", "server RSS with streams", "per stream"];
    resident_cost("idle-streams", described, names, case.server_pid, open).await
}

/// What `open` holds costs the server (`server_pid`) in resident memory: its
/// figure before, and a second after all is open, in all and per thing held;
/// `[held, resident with them, per one]` name the figures.
pub(crate) async fn resident_cost<T>(
    scenario: &'static str,
    described: String,
    [held_name, with_name, per_name]: [&'static str; 3],
    server_pid: Option<u32>,
    open: impl Future<Output = Result<Vec<T>, String>>,
) -> Result<Row, String> {
    let before = server_pid.map(resident_kib).transpose()?;
    let held = open.await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server_pid.map(resident_kib).transpose()?;
    let opened = held.len();
    drop(held);
    let mut row = Row::new(scenario, described).with(held_name, opened as f64, "");
    if let (Some(before), Some(after)) = (before, after) {
        row = row.with("server RSS before", before as f64, "KiB").with(with_name, after as f64, "KiB").with(
            per_name,
            after.saturating_sub(before) as f64 / opened.max(1) as f64,
            "KiB",
        );
    }
    Ok(row)
}
