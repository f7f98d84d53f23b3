//! All I/O of the page: the generated gRPC clients over gRPC-Web, processing sessions, and the
//! tab's write token.

mod api;
mod error;
pub(crate) mod processing;
mod write_token;

pub(crate) use api::Api;
pub(crate) use error::{CallError, Reach};
pub(crate) use write_token::{Credentials, WriteToken};
