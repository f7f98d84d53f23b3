//! The ordermgt server: the book's `ecommerce.OrderManagement` over native
//! gRPC and gRPC-Web, on one port.
//!
//! [`App`] is what `ordermgt-server` serves ([`serve()`]); tests serve the same one.

// What a client sends must never panic the server: no unwrap or expect on
// anything it controls, and no silent truncation of a number it chose.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

pub mod app;
pub mod auth;
pub mod budget;
pub mod calls;
pub mod config;
mod connection;
pub mod content_type;
mod echo;
pub mod error;
pub mod health;
pub mod hosts;
mod http1;
mod http2;
mod lanes;
pub mod logs;
pub mod methods;
pub mod metrics;
pub mod order;
pub mod origin;
pub mod page;
pub mod processing;
mod reflection;
pub mod serve;
pub mod service;
pub mod sessions;
pub mod single_message;
pub mod store;
pub mod tls;
pub mod update;
pub mod web_service;
pub mod websocket;

pub use app::App;
pub use config::Config;
pub use serve::serve;
