//! Write access: with a write token set, the methods that change stored orders
//! need `authorization: Bearer <token>`; reads stay open to everyone.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;
use tonic::Status;

use crate::rpc::methods;

/// The shared secret writers must present.
#[derive(Clone)]
pub struct WriteToken(Arc<[u8]>);

impl fmt::Debug for WriteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteToken(<redacted>)")
    }
}

/// Why a write token file could not be used.
#[expect(missing_docs, reason = "each variant's #[error] message says what it is")]
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the write token file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the write token file {path} is empty")]
    Empty { path: String },
    #[error("the write token in {path} holds characters an HTTP header cannot carry (use printable ASCII)")]
    NotHeaderSafe { path: String },
}

impl WriteToken {
    /// The token in `path`: the file's text without surrounding whitespace.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read { path: shown.clone(), source })?;
        Self::new(text.trim()).map_err(|error| match error {
            TokenError::Empty { .. } => TokenError::Empty { path: shown },
            _ => TokenError::NotHeaderSafe { path: shown },
        })
    }

    /// `token` itself: refused if empty or not something an HTTP header can carry.
    pub fn new(token: &str) -> Result<Self, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Empty { path: String::new() });
        }
        if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(TokenError::NotHeaderSafe { path: String::new() });
        }
        Ok(Self(token.as_bytes().into()))
    }

    /// Whether `headers` carry this token as `Bearer` credentials. The
    /// comparison takes the same time wherever the first difference is.
    fn presented_in(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION) else { return false };
        let Some(presented) = strip_bearer(value.as_bytes()) else { return false };
        presented.ct_eq(&self.0).into()
    }
}

fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then(|| rest.trim_ascii())
}

/// Who may write: everyone (no token set), or holders of the token.
#[derive(Debug, Clone, Default)]
pub struct WriteAccess(Option<WriteToken>);

impl WriteAccess {
    /// Writes need `token` if there is one; with none, everyone may write.
    pub fn new(token: Option<WriteToken>) -> Self {
        Self(token)
    }

    /// Whether writes need a token.
    pub fn is_restricted(&self) -> bool {
        self.0.is_some()
    }

    /// Admits a call to the method at `path`, or says why not.
    pub fn admit(&self, path: &str, headers: &HeaderMap) -> Result<(), Status> {
        let Some(token) = &self.0 else { return Ok(()) };
        if !methods::writes(path) || token.presented_in(headers) {
            return Ok(());
        }
        let method = path.rsplit('/').next().unwrap_or(path);
        Err(if headers.contains_key(AUTHORIZATION) {
            Status::unauthenticated(format!("{method} changes orders: the write token presented is not the right one"))
        } else {
            Status::unauthenticated(format!(
                "{method} changes orders and needs the write token: send `authorization: Bearer <token>`"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: &str = "/ecommerce.OrderManagement/addOrder";
    const GET: &str = "/ecommerce.OrderManagement/getOrder";

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value.parse().expect("header value"));
        }
        headers
    }

    fn restricted() -> WriteAccess {
        WriteAccess::new(Some(WriteToken::new("s3cret-token").expect("token")))
    }

    #[test]
    fn without_a_token_everyone_may_write() {
        assert!(WriteAccess::default().admit(ADD, &headers(None)).is_ok());
    }

    #[test]
    fn writes_need_the_token_and_reads_do_not() {
        let access = restricted();
        let refused = access.admit(ADD, &headers(None)).expect_err("refused");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        assert!(refused.message().contains("addOrder"), "{}", refused.message());
        assert!(access.admit(ADD, &headers(Some("Bearer wrong"))).is_err());
        assert!(access.admit(ADD, &headers(Some("s3cret-token"))).is_err());
        assert!(access.admit(ADD, &headers(Some("Bearer s3cret-token"))).is_ok());
        assert!(access.admit(ADD, &headers(Some("bearer s3cret-token"))).is_ok());
        assert!(access.admit(GET, &headers(None)).is_ok());
    }

    #[test]
    fn a_token_file_is_trimmed_and_must_not_be_empty() {
        let dir = std::env::temp_dir().join(format!("ordermgt-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("token");
        std::fs::write(&file, "abc123\n").expect("write");
        let access = WriteAccess::new(Some(WriteToken::from_file(&file).expect("token")));
        assert!(access.admit(ADD, &headers(Some("Bearer abc123"))).is_ok());
        std::fs::write(&file, "  \n").expect("write");
        assert!(WriteToken::from_file(&file).expect_err("empty").to_string().contains("is empty"));
        let missing = dir.join("missing");
        assert!(WriteToken::from_file(&missing).expect_err("missing").to_string().contains("cannot read"));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
