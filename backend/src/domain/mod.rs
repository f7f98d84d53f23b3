//! The domain: what an order is, the store that keeps orders, the batching
//! of processOrders and the rules of an update, and the errors they raise
//! (with the one place those become gRPC statuses). Plain Rust and a
//! database: no HTTP, no tonic service, so all of it is tested without a
//! network.

pub mod error;
pub mod order;
pub mod processing;
pub mod store;
pub(crate) mod update;
