//! What a failed call means to the page: the server's status in words, or a server out of reach.

use std::error::Error as _;

use tonic::{Code, Status};

/// Who answered a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The server did: an answer or a gRPC status it produced.
    Server,
    /// Nobody did: the request never got a gRPC answer (network down, server stopped).
    Unreachable,
}

/// A failed call, ready to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallError {
    /// In words: the server's status message, or why the server could not be reached.
    pub(crate) message: String,
    pub(crate) reach: Reach,
    /// The status code, as the server sent it or as tonic made it up for a transport failure.
    pub(crate) code: Code,
}

impl CallError {
    /// Whether the server refused a write for want of the right write token (UNAUTHENTICATED).
    pub(crate) fn needs_write_token(&self) -> bool {
        self.reach == Reach::Server && self.code == Code::Unauthenticated
    }
}

impl From<Status> for CallError {
    fn from(status: Status) -> Self {
        match transport_failure(&status) {
            Some(cause) => CallError {
                message: format!("Cannot reach the server ({cause})"),
                reach: Reach::Unreachable,
                code: status.code(),
            },
            None => CallError { message: in_words(&status), reach: Reach::Server, code: status.code() },
        }
    }
}

/// Why the call failed before any gRPC answer came back, if it did.
///
/// tonic-web-wasm-client fails a call with its own `Error` when `fetch` rejects (connection
/// refused, network down: `JsError("TypeError: Failed to fetch")`), or when the reply is not
/// gRPC-Web (a proxy's error page); tonic turns that into an `Unknown` status whose source is that
/// error. A status the server sent has no such source, except `TonicStatusError`, which carries one.
/// Gateways with nothing behind them answer HTTP 502/503/504, which tonic reads as `Unavailable`.
fn transport_failure(status: &Status) -> Option<String> {
    let mut source = status.source();
    while let Some(error) = source {
        if let Some(web) = error.downcast_ref::<tonic_web_wasm_client::Error>() {
            return match web {
                tonic_web_wasm_client::Error::TonicStatusError(_) => None,
                tonic_web_wasm_client::Error::JsError(cause) => Some(cause.clone()),
                other => Some(other.to_string()),
            };
        }
        source = error.source();
    }
    (status.code() == Code::Unavailable).then(|| in_words(status))
}

/// The status message, or what its code means when the message is empty.
fn in_words(status: &Status) -> String {
    match status.message().trim() {
        "" => status.code().description().to_string(),
        message => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_from_the_server_is_shown_as_its_message() {
        let error = CallError::from(Status::not_found("order 999 not found"));
        assert_eq!(
            error,
            CallError { message: "order 999 not found".into(), reach: Reach::Server, code: Code::NotFound }
        );
        assert!(!error.needs_write_token());
    }

    #[test]
    fn an_empty_message_is_replaced_by_the_code_in_words() {
        let error = CallError::from(Status::new(Code::PermissionDenied, ""));
        assert_eq!(error.reach, Reach::Server);
        assert!(error.message.contains("permission"), "{}", error.message);
    }

    #[test]
    fn a_failed_fetch_means_the_server_is_unreachable() {
        let fetch = tonic_web_wasm_client::Error::JsError("TypeError: Failed to fetch".into());
        let error = CallError::from(Status::from_error(Box::new(fetch)));
        assert_eq!(error.reach, Reach::Unreachable);
        assert_eq!(error.message, "Cannot reach the server (TypeError: Failed to fetch)");
    }

    #[test]
    fn a_reply_that_is_not_grpc_web_means_unreachable() {
        let page = tonic_web_wasm_client::Error::InvalidContentType("text/html".into());
        assert_eq!(CallError::from(Status::from_error(Box::new(page))).reach, Reach::Unreachable);
    }

    #[test]
    fn a_status_carried_by_the_transport_is_the_servers() {
        let carried = tonic_web_wasm_client::Error::TonicStatusError(Status::not_found("order 1 not found"));
        let error = CallError::from(Status::from_error(Box::new(carried)));
        assert_eq!(
            error,
            CallError { message: "order 1 not found".into(), reach: Reach::Server, code: Code::NotFound }
        );
    }

    #[test]
    fn unauthenticated_from_the_server_asks_for_the_write_token() {
        let refused = Status::unauthenticated("addOrder changes orders and needs the write token");
        let error = CallError::from(refused);
        assert!(error.needs_write_token());
        assert_eq!(error.message, "addOrder changes orders and needs the write token");
    }

    #[test]
    fn a_gateway_without_a_backend_means_unreachable() {
        let gateway = Status::unavailable("grpc-status header missing, mapped from HTTP status code 502");
        assert_eq!(CallError::from(gateway).reach, Reach::Unreachable);
    }
}
