//! `ordermgt`: calls ecommerce.OrderManagement from the command line.
//!
//! Run: `cargo run -p ordermgt-cli -- process 102 103 104 101` against a running
//! `ordermgt-server`; `ordermgt --help` lists the commands.

mod args;
mod connect;
mod print;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use args::{Cli, Command, NewOrder};
use clap::Parser;
use connect::Client;
use ordermgt_proto::Order;
use print::Printer;
use std::io::BufRead;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ordermgt: {}", in_words(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut client = connect::client(&cli).await?;
    let print = Printer { json: cli.json };
    match cli.command {
        Command::Add(order) => {
            let id = client.add_order(Order::from(order)).await.map_err(status)?.into_inner();
            print.reply("id", &id);
        }
        Command::Get { id } => print.order(&client.get_order(id).await.map_err(status)?.into_inner()),
        Command::Search { query } => {
            let mut found = client.search_orders(query).await.map_err(status)?.into_inner();
            while let Some(order) = found.message().await.map_err(status)? {
                print.order(&order);
            }
        }
        Command::Update { orders } => update(&mut client, orders, print).await?,
        Command::Process { ids, interval } => process(&mut client, ids, Duration::from_millis(interval), print).await?,
    }
    Ok(())
}

async fn update(client: &mut Client, arguments: Vec<String>, print: Printer) -> anyhow::Result<()> {
    let lines = if arguments.is_empty() { read_stdin_lines()? } else { arguments };
    let orders = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str::<Order>(line).with_context(|| format!("{line:?} is not an order")))
        .collect::<Result<Vec<_>, _>>()?;
    let reply = client.update_orders(tokio_stream::iter(orders)).await.map_err(status)?.into_inner();
    print.reply("reply", &reply);
    Ok(())
}

/// Sends the ids (or standard input's lines) as they come, while printing
/// shipments as they arrive; half-closes at the end of the ids.
async fn process(client: &mut Client, ids: Vec<String>, interval: Duration, print: Printer) -> anyhow::Result<()> {
    let (outgoing, requests) = mpsc::channel::<String>(64);
    if ids.is_empty() {
        // A plain thread, not the runtime's blocking pool: a read still
        // waiting on the terminal must not hold up the exit.
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                let id = line.trim();
                if !id.is_empty() && outgoing.blocking_send(id.to_string()).is_err() {
                    break;
                }
            }
        });
    } else {
        tokio::spawn(async move {
            for (n, id) in ids.into_iter().enumerate() {
                if n > 0 && !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                if outgoing.send(id).await.is_err() {
                    break;
                }
            }
        });
    }
    let mut shipments = client.process_orders(ReceiverStream::new(requests)).await.map_err(status)?.into_inner();
    while let Some(shipment) = shipments.message().await.map_err(status)? {
        print.shipment(&shipment);
    }
    Ok(())
}

fn read_stdin_lines() -> anyhow::Result<Vec<String>> {
    std::io::stdin().lock().lines().collect::<Result<_, _>>().context("cannot read standard input")
}

/// The error and its causes, each said once: "cannot reach URL: transport error: tcp connect error:
/// Connection refused". (anyhow's `{:#}` would say "tcp connect error" twice: hyper-util's error
/// repeats its cause in its own text.)
fn in_words(error: &anyhow::Error) -> String {
    error.chain().map(ToString::to_string).fold(String::new(), |text, cause| {
        if text.is_empty() {
            cause
        } else if text.contains(&cause) {
            text
        } else {
            format!("{text}: {cause}")
        }
    })
}

/// A call's failure in words: its code and the server's message.
fn status(status: tonic::Status) -> anyhow::Error {
    anyhow!("{:?}: {}", status.code(), status.message())
}

impl From<NewOrder> for Order {
    fn from(order: NewOrder) -> Self {
        let NewOrder { id, items, description, price, destination } = order;
        Self { id, items, description, price, destination }
    }
}
