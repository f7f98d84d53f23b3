//! The scenarios, one module each.

pub(crate) mod bidi;
pub(crate) mod frames;
pub(crate) mod h2load;
pub(crate) mod idle;
pub(crate) mod search;
pub(crate) mod unary;
pub(crate) mod websocket;
