//! Which transport the next processing session (and multi-order update) takes: the WebSocket,
//! unless the user asked for gRPC-Web (`?transport=grpc-web`, or the switch in the processing
//! panel) or the WebSocket already failed on this page while gRPC-Web worked.

use crate::services::processing::Transport;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransportChoice {
    /// The user asked for gRPC-Web.
    pub(crate) forced: bool,
    /// Why the WebSocket got no answer here when gRPC-Web then did: later calls go straight to
    /// gRPC-Web (a proxy that cannot carry WebSockets, such as `trunk serve`'s).
    pub(crate) websocket_failed: Option<String>,
}

impl TransportChoice {
    /// The choice a page address asks for: `?transport=grpc-web` forces gRPC-Web; anything else
    /// (`?transport=websocket`, nothing) leaves the WebSocket first.
    pub(crate) fn from_query(query: &str) -> Self {
        let asked = query
            .trim_start_matches('?')
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(name, value)| (name == "transport").then_some(value));
        TransportChoice { forced: asked == Some(Transport::GrpcWeb.data()), websocket_failed: None }
    }

    /// The transport of the next call.
    pub(crate) fn next(&self) -> Transport {
        if self.forced || self.websocket_failed.is_some() { Transport::GrpcWeb } else { Transport::WebSocket }
    }

    /// The switch: on, gRPC-Web; off, the WebSocket, given another chance even if it failed before.
    pub(crate) fn use_grpc_web(&mut self, on: bool) {
        self.forced = on;
        if !on {
            self.websocket_failed = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_comes_first_unless_the_address_asks_for_grpc_web() {
        for query in ["", "?", "?transport=websocket", "?transport=carrier-pigeon", "?x=1&y"] {
            assert_eq!(TransportChoice::from_query(query).next(), Transport::WebSocket, "{query}");
        }
        for query in ["?transport=grpc-web", "?debug=1&transport=grpc-web", "transport=grpc-web"] {
            assert_eq!(TransportChoice::from_query(query).next(), Transport::GrpcWeb, "{query}");
        }
    }

    #[test]
    fn a_websocket_that_failed_is_skipped_until_the_switch_asks_for_it_again() {
        let reason = "the WebSocket closed before the server answered (code 1006)";
        let mut choice = TransportChoice { websocket_failed: Some(reason.into()), ..TransportChoice::default() };
        assert_eq!(choice.next(), Transport::GrpcWeb);
        choice.use_grpc_web(true);
        assert_eq!(choice.next(), Transport::GrpcWeb);
        choice.use_grpc_web(false);
        assert_eq!(choice, TransportChoice::default());
        assert_eq!(choice.next(), Transport::WebSocket);
    }
}
