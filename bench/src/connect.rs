//! Connections to the server under test: native gRPC channels, one HTTP/2 connection each.

use ordermgt_proto::order_management_client::OrderManagementClient;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Channel, Endpoint};

pub(crate) type Client = OrderManagementClient<Channel>;

/// Whether tonic's clients gzip their requests and ask for gzipped responses (`--gzip`).
pub(crate) static GZIP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `count` clients, each on its own HTTP/2 connection.
pub(crate) async fn clients(server: &str, count: usize) -> Result<Vec<Client>, String> {
    let endpoint = Endpoint::from_shared(server.to_string()).map_err(|error| format!("{server:?}: {error}"))?;
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let channel = endpoint
            .clone()
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|error| format!("cannot reach {server}: {error}"))?;
        let client = OrderManagementClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
        clients.push(if GZIP.load(std::sync::atomic::Ordering::Relaxed) {
            client.send_compressed(CompressionEncoding::Gzip).accept_compressed(CompressionEncoding::Gzip)
        } else {
            client
        });
    }
    Ok(clients)
}

/// The ids of up to `limit` orders the server lists (`searchOrders("")`), to send to it.
pub(crate) async fn known_ids(client: &mut Client, limit: usize) -> Result<Vec<String>, String> {
    let mut found = client.search_orders(String::new()).await.map_err(|status| status.to_string())?.into_inner();
    let mut ids = Vec::new();
    while ids.len() < limit {
        match found.message().await.map_err(|status| status.to_string())? {
            Some(order) => ids.push(order.id),
            None => break,
        }
    }
    Ok(ids) // dropping the rest of the stream cancels it
}

/// The client for task `index`: tasks are spread over the connections round-robin.
pub(crate) fn spread(clients: &[Client], index: usize) -> Client {
    clients[index % clients.len()].clone()
}
