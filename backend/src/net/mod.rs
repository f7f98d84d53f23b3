//! The network: the listener and its connections ([`serve`], `connection`),
//! the lanes they run on, HTTP/1.1 and HTTP/2 served on them, TLS, and
//! gRPC calls over WebSocket.

pub(crate) mod connection;
pub(crate) mod http1;
pub(crate) mod http2;
pub(crate) mod lanes;
pub mod serve;
pub mod tls;
pub(crate) mod websocket;
