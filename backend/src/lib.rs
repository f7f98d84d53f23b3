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

// The source is grouped by concern, and the groups import one way, from the
// network in towards the domain: net -> web -> rpc -> domain. The pieces at
// the root are shared by the groups: config (the flags, read into the
// groups' types), metrics (keyed by rpc's method catalog), logs, budget,
// echo and tls.
mod domain;
mod net;
mod rpc;
mod web;

pub mod budget;
pub mod config;
mod echo;
pub mod logs;
pub mod metrics;
pub mod tls;

// The library's API keeps its flat paths (backend::order, backend::store, ...).
pub use domain::{error, order, processing, store};
pub use net::serve;
pub use rpc::health;
pub use web::{app, auth};

pub use app::App;
pub use config::Config;
pub use net::serve::serve;
