//! Text a client chose, as the server repeats it in statuses, rejections and
//! log lines: cut to a bound, so that a huge value costs what a short one does.

use std::borrow::Cow;

/// The most of a client's text any message repeats, in bytes.
pub(crate) const MAX_ECHO_BYTES: usize = 128;

/// `text` whole if it is short; else its first [`MAX_ECHO_BYTES`] (on a
/// character boundary), an ellipsis and its full length.
pub(crate) fn cut(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_ECHO_BYTES {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("{}… ({} bytes)", prefix(text, MAX_ECHO_BYTES), text.len()))
}

/// `text` cut as [`cut`] does and quoted, control characters escaped: for
/// values that may be empty or hold anything.
pub(crate) fn quoted(text: &str) -> String {
    if text.len() <= MAX_ECHO_BYTES {
        return format!("{text:?}");
    }
    format!("{:?}… ({} bytes)", prefix(text, MAX_ECHO_BYTES), text.len())
}

/// The longest start of `text` of at most `bytes` bytes that ends on a character boundary.
pub(crate) fn prefix(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_repeated_whole() {
        assert_eq!(cut("102"), "102");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_with_its_length() {
        let long = "é".repeat(1_000_000);
        let shown = cut(&long);
        assert!(shown.len() < MAX_ECHO_BYTES + 32, "{} bytes shown", shown.len());
        assert!(shown.ends_with("… (2000000 bytes)"), "{shown}");
        assert!(quoted(&long).ends_with("\"… (2000000 bytes)"));
        assert_eq!(prefix("aé", 2), "a");
    }
}
