//! The command line: global options and one subcommand per RPC.

use clap::{Args, Parser, Subcommand};

/// A command-line client for ecommerce.OrderManagement (gRPC: Up and Running, chapter 3).
#[derive(Debug, Parser)]
#[command(name = "ordermgt", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The server to call.
    #[arg(long, env = "ORDERMGT_SERVER", global = true, default_value = "http://127.0.0.1:50051")]
    pub(crate) server: String,

    /// A file holding the server's write token, sent as `authorization: Bearer <token>`
    /// (needed by add and update when the server has --write-token-file).
    #[arg(long, env = "ORDERMGT_TOKEN_FILE", global = true, value_name = "FILE")]
    pub(crate) token_file: Option<std::path::PathBuf>,

    /// A PEM certificate to trust for an https:// server, beside the usual public roots
    /// (for a server with a self-signed or private-CA certificate).
    #[arg(long, env = "ORDERMGT_CA_CERT", global = true, value_name = "FILE")]
    pub(crate) ca_cert: Option<std::path::PathBuf>,

    /// Print one JSON object per line (proto3 JSON field names) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add an order (addOrder) and print its id.
    Add(NewOrder),
    /// Print one order (getOrder).
    Get {
        /// The order's id.
        id: String,
    },
    /// Print every order with an item containing QUERY, ignoring case, as they stream in (searchOrders).
    Search {
        /// Text to look for in the items; empty lists every order.
        #[arg(default_value = "")]
        query: String,
    },
    /// Replace orders, all or nothing (updateOrders).
    Update {
        /// Orders as JSON objects, e.g. '{"id":"102","items":["Google Pixel Book"],"price":1100,"destination":"Mountain View, CA"}'.
        /// Without any, one JSON object per line is read from standard input.
        orders: Vec<String>,
    },
    /// Stream order ids and print each shipment the moment it arrives (processOrders).
    Process {
        /// Order ids to send, in order. Without any, ids are read from standard input, one per line
        /// (blank lines skipped), each sent as soon as it is read; end the input (Ctrl-D) to ship the rest.
        ids: Vec<String>,
        /// Pause between ids, in milliseconds, to watch shipments arrive as batches fill.
        #[arg(long, value_name = "MS", default_value_t = 0)]
        interval: u64,
    },
}

/// The fields of a new order.
#[derive(Debug, Args)]
pub(crate) struct NewOrder {
    /// The order's id; empty lets the server choose one.
    #[arg(long, default_value = "")]
    pub(crate) id: String,
    /// An item of the order; repeat for several.
    #[arg(long = "item", value_name = "ITEM")]
    pub(crate) items: Vec<String>,
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) price: f32,
    #[arg(long)]
    pub(crate) destination: String,
}
