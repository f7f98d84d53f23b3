//! HTTP in front of the services: the router ([`app`]) with its per-call
//! layers ([`calls`]: log line and metrics, write access, deadlines, status
//! respelling, one message for unary calls), and what browsers need: the
//! page's files, the origin and host checks, content types, and gRPC calls
//! over WebSocket (an upgrade the router takes, each call then made the
//! native request it stands for).

pub mod app;
pub mod auth;
pub(crate) mod calls;
pub(crate) mod content_type;
pub(crate) mod hosts;
pub(crate) mod origin;
pub(crate) mod page;
pub(crate) mod websocket;
