//! All I/O of the page: the generated gRPC clients over gRPC-Web and over WebSocket, processing
//! sessions, and the tab's write token.

mod api;
mod error;
pub(crate) mod processing;
pub(crate) mod websocket;
mod write_token;

pub(crate) use api::{Api, page_query};
pub(crate) use error::{CallError, Reach};
pub(crate) use write_token::{Credentials, WriteToken};
