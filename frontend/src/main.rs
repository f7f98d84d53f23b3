//! The ordermgt page: a Yew app that calls the order service over gRPC-Web and, for the calls that
//! stream requests, over a WebSocket (grpc-ws).
//! Build and serve it with `trunk serve` (see `Trunk.toml`), or `trunk build --release` into `dist/`.

mod app;
mod batch;
mod components;
mod draft;
mod format;
mod parse;
mod services;
mod state;
mod tasks;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
