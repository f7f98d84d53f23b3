//! Domain errors, and the one place they become `tonic::Status`.

use tonic::{Code, Status};

use crate::echo::cut;

/// Why an order operation failed. Each message names the order and, where
/// there is one, the field at fault.
#[expect(missing_docs, reason = "each variant's #[error] message says what it is")]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    #[error("order {} not found", cut(.id))]
    NotFound { id: String },

    #[error("order {} already exists", cut(.id))]
    AlreadyExists { id: String },

    #[error("invalid order{}: {field} {problem}", display_id(.id))]
    Invalid { id: String, field: &'static str, problem: String },

    #[error("order {} appears more than once in this update", cut(.id))]
    DuplicateInUpdate { id: String },

    #[error("an update may hold at most {limit} orders")]
    UpdateTooLarge { limit: usize },

    #[error("an update may hold at most {limit_mib} MiB of orders; order {} takes it past that", cut(.id))]
    UpdateTooHeavy { limit_mib: usize, id: String },

    #[error(transparent)]
    ServerFull(#[from] crate::budget::Spent),

    #[error("the order store is unavailable: {0}")]
    Unavailable(String),
}

/// Why a call on a browser's processing session failed.
#[expect(missing_docs, reason = "each variant's #[error] message says what it is")]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("no open processing session has this token: it finished, was cancelled, or never existed")]
    Unknown,

    #[error("{limit} order ids already wait unread in this processing session: read its event stream first")]
    Backlog { limit: usize },

    #[error("{limit} processing sessions are open, as many as this server holds (--max-sessions): try again later")]
    TooMany { limit: usize },

    #[error(transparent)]
    Invalid(OrderError),
}

impl From<SessionError> for Status {
    fn from(error: SessionError) -> Self {
        let code = match &error {
            SessionError::Unknown => Code::NotFound,
            SessionError::Backlog { .. } | SessionError::TooMany { .. } => Code::ResourceExhausted,
            SessionError::Invalid(_) => Code::InvalidArgument,
        };
        Status::new(code, error.to_string())
    }
}

fn display_id(id: &str) -> String {
    if id.is_empty() { String::new() } else { format!(" {}", cut(id)) }
}

impl From<OrderError> for Status {
    fn from(error: OrderError) -> Self {
        let code = match &error {
            OrderError::NotFound { .. } => Code::NotFound,
            OrderError::AlreadyExists { .. } => Code::AlreadyExists,
            OrderError::Invalid { .. } | OrderError::DuplicateInUpdate { .. } => Code::InvalidArgument,
            OrderError::UpdateTooLarge { .. } | OrderError::UpdateTooHeavy { .. } | OrderError::ServerFull(_) => {
                Code::ResourceExhausted
            }
            OrderError::Unavailable(_) => Code::Unavailable,
        };
        Status::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_grpc_code_with_a_message_naming_the_order() {
        let cases = [
            (OrderError::NotFound { id: "999".into() }, Code::NotFound, "order 999 not found"),
            (OrderError::AlreadyExists { id: "101".into() }, Code::AlreadyExists, "order 101 already exists"),
            (
                OrderError::Invalid { id: "7".into(), field: "price", problem: "must be finite".into() },
                Code::InvalidArgument,
                "invalid order 7: price must be finite",
            ),
            (
                OrderError::Invalid { id: String::new(), field: "price", problem: "must be finite".into() },
                Code::InvalidArgument,
                "invalid order: price must be finite",
            ),
            (
                OrderError::DuplicateInUpdate { id: "102".into() },
                Code::InvalidArgument,
                "order 102 appears more than once in this update",
            ),
            (
                OrderError::NotFound { id: "9".repeat(3_000_000) },
                Code::NotFound,
                &format!("order {}… (3000000 bytes) not found", "9".repeat(crate::echo::MAX_ECHO_BYTES)),
            ),
            (OrderError::UpdateTooLarge { limit: 5 }, Code::ResourceExhausted, "an update may hold at most 5 orders"),
            (
                OrderError::UpdateTooHeavy { limit_mib: 64, id: "7".into() },
                Code::ResourceExhausted,
                "an update may hold at most 64 MiB of orders; order 7 takes it past that",
            ),
            (
                OrderError::ServerFull(crate::budget::Spent::Server { limit_mib: 256 }),
                Code::ResourceExhausted,
                "the server already holds 256 MiB of client data, as much as it may (--max-held-bytes): try again later",
            ),
            (OrderError::Unavailable("gone".into()), Code::Unavailable, "the order store is unavailable: gone"),
        ];
        for (error, code, message) in cases {
            let status = Status::from(error);
            assert_eq!((status.code(), status.message()), (code, message));
        }
    }

    #[test]
    fn session_errors_map_to_not_found_and_resource_exhausted() {
        assert_eq!(Status::from(SessionError::Unknown).code(), Code::NotFound);
        let backlog = Status::from(SessionError::Backlog { limit: 8 });
        assert_eq!(backlog.code(), Code::ResourceExhausted);
        assert!(backlog.message().starts_with("8 order ids already wait unread"), "{}", backlog.message());
    }
}
