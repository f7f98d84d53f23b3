//! `search`: `searchOrders` over a large store, natively (HTTP/2) and over
//! gRPC-Web on HTTP/1.1, counting orders as they stream in.

use std::time::Instant;

use bytes::{Buf, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use ordermgt_proto::Order;
use prost::Message;

use crate::connect::{Client, spread};
use crate::report::Row;

/// Every order this scenario adds has this item, so one query finds them all.
const ITEM: &str = "bench-search widget";

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) orders: usize,
}

pub(crate) async fn run(server: &str, clients: &[Client], case: Case) -> Result<Vec<Row>, String> {
    seed(clients, case.orders).await?;
    let mut client = spread(clients, 0);
    let started = Instant::now();
    let mut found = client.search_orders(ITEM.to_string()).await.map_err(|s| s.to_string())?.into_inner();
    let mut native = 0usize;
    while found.message().await.map_err(|s| s.to_string())?.is_some() {
        native += 1;
    }
    let native_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let web = grpc_web_search(server, ITEM).await?;
    let web_secs = started.elapsed().as_secs_f64();

    let row = |transport: &str, count: usize, secs: f64| {
        Row::new("search", format!("{transport}, store of {} matching orders", case.orders))
            .with("orders streamed", count as f64, "")
            .with("orders/s", count as f64 / secs, "1/s")
    };
    Ok(vec![row("native gRPC (HTTP/2)", native, native_secs), row("gRPC-Web binary (HTTP/1.1)", web, web_secs)])
}

/// Adds `bench-search-NNNNNN` orders until `orders` of them exist (32 calls at a time).
async fn seed(clients: &[Client], orders: usize) -> Result<(), String> {
    let tasks: Vec<_> = (0..32)
        .map(|worker| {
            let mut client = spread(clients, worker);
            tokio::spawn(async move {
                for n in (worker..orders).step_by(32) {
                    let order = Order {
                        id: format!("bench-search-{n:06}"),
                        items: vec![ITEM.to_string()],
                        description: String::new(),
                        price: 1.0,
                        destination: "Bench".to_string(),
                    };
                    match client.add_order(order).await {
                        Ok(_) => {}
                        Err(status) if status.code() == tonic::Code::AlreadyExists => {}
                        Err(status) => return Err(format!("seeding the search store: {status}")),
                    }
                }
                Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|error| format!("seeding task: {error}"))??;
    }
    Ok(())
}

/// `searchOrders` as a browser sends it, over HTTP/1.1; counts the messages as their frames arrive.
async fn grpc_web_search(server: &str, query: &str) -> Result<usize, String> {
    let mut framed = vec![0u8];
    let message = query.to_string().encode_to_vec();
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let request = http::Request::post(format!("{server}/ecommerce.OrderManagement/searchOrders"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(Full::new(bytes::Bytes::from(framed)))
        .map_err(|error| error.to_string())?;
    let client = HttpClient::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.map_err(|error| format!("gRPC-Web search: {error}"))?;
    let mut body = response.into_body();
    let mut buffer = BytesMut::new();
    let mut messages = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| error.to_string())?;
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
        }
        while buffer.len() >= 5 {
            let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
            if buffer.len() < 5 + len {
                break;
            }
            if buffer[0] & 0x80 == 0 {
                messages += 1;
            }
            buffer.advance(5 + len);
        }
    }
    Ok(messages)
}
