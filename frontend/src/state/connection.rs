//! The connection as the page sees it, derived from how its calls end.

use crate::services::Reach;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Connection {
    /// No call has come back yet.
    #[default]
    Connecting,
    /// The last call got an answer from the server (a gRPC status counts).
    Connected,
    /// The last call never reached the server; a retry comes in a few seconds.
    Unreachable,
    /// A retry is on its way.
    Reconnecting,
}

impl Connection {
    /// `data-state` of `#connection`: `connected`, `reconnecting` or `unreachable`.
    pub(crate) fn data_state(self) -> &'static str {
        match self {
            Connection::Connected => "connected",
            Connection::Connecting | Connection::Reconnecting => "reconnecting",
            Connection::Unreachable => "unreachable",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Connection::Connecting => "Connecting…",
            Connection::Connected => "Connected",
            Connection::Unreachable => "Server unreachable, retrying soon",
            Connection::Reconnecting => "Reconnecting…",
        }
    }

    /// Whether the server was lost and must be retried.
    pub(crate) fn is_down(self) -> bool {
        matches!(self, Connection::Unreachable | Connection::Reconnecting)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnectionState {
    pub(crate) connection: Connection,
    /// How many times the server came back after being lost: the page reloads when it grows.
    pub(crate) recoveries: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnectionAction {
    /// A call ended, and this is who answered it.
    Reached(Reach),
    /// A retry started.
    Probing,
}

impl ConnectionState {
    pub(crate) fn reduce(&mut self, action: ConnectionAction) {
        match action {
            ConnectionAction::Reached(Reach::Server) => {
                if self.connection.is_down() {
                    self.recoveries += 1;
                }
                self.connection = Connection::Connected;
            }
            ConnectionAction::Reached(Reach::Unreachable) => self.connection = Connection::Unreachable,
            ConnectionAction::Probing if self.connection.is_down() => self.connection = Connection::Reconnecting,
            ConnectionAction::Probing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(actions: &[ConnectionAction]) -> ConnectionState {
        let mut state = ConnectionState::default();
        for action in actions {
            state.reduce(*action);
        }
        state
    }

    use ConnectionAction::{Probing, Reached};
    use Reach::{Server, Unreachable};

    #[test]
    fn the_first_answer_connects_without_counting_a_recovery() {
        let state = after(&[Reached(Server)]);
        assert_eq!(state.connection, Connection::Connected);
        assert_eq!(state.recoveries, 0);
        assert_eq!(state.connection.data_state(), "connected");
    }

    #[test]
    fn a_lost_server_is_retried_and_counted_when_back() {
        let state = after(&[Reached(Server), Reached(Unreachable)]);
        assert_eq!(state.connection.data_state(), "unreachable");
        let state = after(&[Reached(Server), Reached(Unreachable), Probing]);
        assert_eq!(state.connection.data_state(), "reconnecting");
        let state =
            after(&[Reached(Server), Reached(Unreachable), Probing, Reached(Unreachable), Probing, Reached(Server)]);
        assert_eq!(state.connection, Connection::Connected);
        assert_eq!(state.recoveries, 1);
    }

    #[test]
    fn a_server_down_from_the_start_counts_when_it_comes() {
        let state = after(&[Reached(Unreachable), Reached(Server)]);
        assert_eq!(state.recoveries, 1);
    }

    #[test]
    fn a_probe_while_connected_changes_nothing() {
        assert_eq!(after(&[Reached(Server), Probing]).connection, Connection::Connected);
        assert_eq!(after(&[Probing]).connection, Connection::Connecting);
    }
}
