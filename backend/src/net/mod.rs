//! The network: the listener and its connections ([`serve`], `connection`),
//! the lanes they run on, and HTTP/1.1 and HTTP/2 served on them (in clear
//! text or over TLS).

pub(crate) mod connection;
pub(crate) mod http1;
pub(crate) mod http2;
pub(crate) mod lanes;
pub mod serve;
