//! All I/O of the page: the generated gRPC clients over gRPC-Web, and processing sessions.

mod api;
mod error;
pub(crate) mod processing;

pub(crate) use api::Api;
pub(crate) use error::{CallError, Reach};
