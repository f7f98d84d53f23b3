//! The ordermgt server: the book's `ecommerce.OrderManagement` over native
//! gRPC and gRPC-Web, on one port.
//!
//! [`App`] is what `ordermgt-server` serves ([`serve()`]); tests serve the same one.

// What a client sends must never panic the server: no unwrap or expect on
// anything it controls, and no silent truncation of a number it chose.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]
// What stays public is the library's API (the server binary, tests, the bench, the CLI and the
// end-to-end suite use it): each item of it says what it is.
#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod budget;
mod calls;
pub mod config;
mod connection;
mod content_type;
mod echo;
pub mod error;
pub mod health;
mod hosts;
mod http1;
mod http2;
mod lanes;
pub mod logs;
mod methods;
pub mod metrics;
pub mod order;
mod origin;
mod page;
pub mod processing;
mod reflection;
pub mod serve;
mod service;
mod sessions;
mod single_message;
pub mod store;
pub mod tls;
mod update;
mod web_service;
mod websocket;

pub use app::App;
pub use config::Config;
pub use serve::serve;
