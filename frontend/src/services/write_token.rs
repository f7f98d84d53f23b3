//! The tab's write token: what a token may hold, how a write carries it, and where the tab keeps it
//! (`sessionStorage`: this tab only, gone when it closes; never `localStorage`, never logged).

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use tonic::metadata::AsciiMetadataValue;

/// Where the tab keeps its token.
pub(crate) const STORAGE_KEY: &str = "ordermgt.write-token";

/// A token the server can be sent: printable ASCII, no spaces, as the server requires too.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct WriteToken {
    secret: String,
    /// `Bearer <token>`, marked sensitive.
    bearer: AsciiMetadataValue,
}

impl fmt::Debug for WriteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteToken(<redacted>)")
    }
}

impl WriteToken {
    /// The token as typed or stored, without the spaces around it; or why it cannot be sent.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let secret = text.trim();
        if secret.is_empty() {
            return Err("Type the write token first.".to_string());
        }
        let unfit = || "A write token holds only printable ASCII characters, with no spaces.".to_string();
        if !secret.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(unfit());
        }
        let mut bearer = AsciiMetadataValue::try_from(format!("Bearer {secret}")).map_err(|_| unfit())?;
        bearer.set_sensitive(true);
        Ok(WriteToken { secret: secret.to_string(), bearer })
    }

    /// The value of the `authorization` header that presents it: `Bearer <token>`.
    pub(crate) fn bearer(&self) -> AsciiMetadataValue {
        self.bearer.clone()
    }
}

/// Keeps the tab's token in `sessionStorage`, or for this page's life when the browser refuses
/// storage (a sandboxed frame, some private modes). Cloning shares it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Credentials {
    /// Used only while `sessionStorage` cannot hold the token.
    fallback: Rc<RefCell<Option<WriteToken>>>,
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

impl Credentials {
    /// The token this tab holds, if any.
    pub(crate) fn token(&self) -> Option<WriteToken> {
        let stored = session_storage().and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten());
        match stored {
            Some(text) => WriteToken::parse(&text).ok(),
            None => self.fallback.borrow().clone(),
        }
    }

    /// Keeps `token` for the tab, replacing any other.
    pub(crate) fn keep(&self, token: &WriteToken) {
        let stored = session_storage().is_some_and(|storage| storage.set_item(STORAGE_KEY, &token.secret).is_ok());
        *self.fallback.borrow_mut() = (!stored).then(|| token.clone());
    }

    /// Forgets the token.
    pub(crate) fn forget(&self) {
        if let Some(storage) = session_storage() {
            let _ = storage.remove_item(STORAGE_KEY);
        }
        self.fallback.borrow_mut().take();
    }

    /// Forgets `refused`, unless another token replaced it meanwhile; then says whether one is still held.
    pub(crate) fn forget_refused(&self, refused: &WriteToken) -> bool {
        if self.token().as_ref() == Some(refused) {
            self.forget();
        }
        self.token().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_trimmed_and_must_be_printable_ascii() {
        assert_eq!(WriteToken::parse("  s3cret-token\n").map(|token| token.secret), Ok("s3cret-token".into()));
        assert!(WriteToken::parse("   ").is_err_and(|message| message.contains("Type")));
        assert!(WriteToken::parse("two words").is_err_and(|message| message.contains("printable ASCII")));
        assert!(WriteToken::parse("jeton-é").is_err());
    }

    #[test]
    fn a_token_is_presented_as_bearer_credentials() {
        let token = WriteToken::parse("s3cret-token").expect("a valid token");
        let bearer = token.bearer();
        assert_eq!(bearer.to_str().ok(), Some("Bearer s3cret-token"));
        assert!(bearer.is_sensitive());
    }

    #[test]
    fn a_token_never_shows_in_debug_output() {
        let token = WriteToken::parse("s3cret-token").expect("a valid token");
        assert_eq!(format!("{token:?}"), "WriteToken(<redacted>)");
        let credentials = Credentials::default();
        credentials.fallback.replace(Some(token));
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }
}
