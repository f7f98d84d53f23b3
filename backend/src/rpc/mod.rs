//! The RPC surface: the tonic services (the book's `OrderManagement`, the
//! page's `OrderManagementWeb` with its browser processing sessions, health
//! and reflection), translating between the proto and the domain, and the
//! catalog of every method served, read from the compiled protos.

pub mod health;
pub(crate) mod message_limit;
pub(crate) mod methods;
pub(crate) mod reflection;
pub(crate) mod service;
pub(crate) mod sessions;
pub(crate) mod unary_lane;
pub(crate) mod web_service;
