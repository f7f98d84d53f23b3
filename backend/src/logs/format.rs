//! How a log event becomes a line: the shape tracing-subscriber's `Full` and
//! `json` formats give, written without their generic machinery.
//!
//! The server logs a line per call, so the line's cost is paid per call:
//! tracing-subscriber's formats spent about 1.5 µs on each (its timestamp,
//! and every string value through `Debug`). This writes the same lines (the
//! timestamp formatted once a second, plain strings copied as they are and
//! escaped only when they need it) in a fraction of that.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A log line's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `2026-12-02T12:11:25.393764Z  INFO backend::calls: call method="/ecommerce..." code="OK" duration_ms=0.003`
    Human,
    /// `{"timestamp":"...","level":"INFO","message":"call","method":"...","duration_ms":0.003,"target":"backend::calls"}`
    Json,
}

/// Formats each event as one line of [`Shape`].
#[derive(Debug, Clone, Copy)]
pub struct LineFormat(pub Shape);

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let metadata = event.metadata();
        let mut line = String::with_capacity(256);
        match self.0 {
            Shape::Human => {
                timestamp(&mut line);
                let level = level_padded(*metadata.level());
                if writer.has_ansi_escapes() {
                    let color = match *metadata.level() {
                        Level::ERROR => "31",
                        Level::WARN => "33",
                        Level::INFO => "32",
                        Level::DEBUG => "34",
                        Level::TRACE => "35",
                    };
                    line.push_str(" \x1b[");
                    line.push_str(color);
                    line.push('m');
                    line.push_str(level);
                    line.push_str("\x1b[0m ");
                } else {
                    line.push(' ');
                    line.push_str(level);
                    line.push(' ');
                }
                line.push_str(metadata.target());
                line.push(':');
                event.record(&mut HumanFields { line: &mut line });
            }
            Shape::Json => {
                line.push_str("{\"timestamp\":\"");
                timestamp(&mut line);
                line.push_str("\",\"level\":\"");
                line.push_str(level_name(*metadata.level()));
                line.push('"');
                event.record(&mut JsonFields { line: &mut line });
                line.push_str(",\"target\":");
                json_string(&mut line, metadata.target());
                line.push('}');
            }
        }
        line.push('\n');
        writer.write_str(&line)
    }
}

/// The level's name right-aligned in five columns, as `{:>5}` would write it.
fn level_padded(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => " WARN",
        Level::INFO => " INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

fn level_name(level: Level) -> &'static str {
    level_padded(level).trim_start()
}

/// Fields as `name=value`, the message first and bare; strings quoted and
/// escaped as `Debug` does.
struct HumanFields<'a> {
    line: &'a mut String,
}

impl Visit for HumanFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.line.push(' ');
        if field.name() == "message" {
            bare(self.line, value);
        } else {
            self.line.push_str(name(field));
            self.line.push('=');
            quoted(self.line, value);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.line.push(' ');
        self.line.push_str(name(field));
        self.line.push('=');
        push_f64(self.line, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let _ = write!(self.line, " {}={value}", name(field));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let _ = write!(self.line, " {}={value}", name(field));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let _ = write!(self.line, " {}={value}", name(field));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.line.push(' ');
        if field.name() != "message" {
            self.line.push_str(name(field));
            self.line.push('=');
        }
        // Written in place (every call's line has a message), and escaped
        // afterwards in the rare case it holds a control character.
        let start = self.line.len();
        let _ = write!(self.line, "{value:?}");
        if self.line[start..].chars().any(char::is_control) {
            let text = self.line.split_off(start);
            bare(self.line, &text);
        }
    }
}

/// Fields as JSON members, in the order they were recorded.
struct JsonFields<'a> {
    line: &'a mut String,
}

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        self.line.push(',');
        json_string(self.line, name(field));
        self.line.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        json_string(self.line, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            push_f64(self.line, value);
        } else {
            self.line.push_str("null");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// A field's name, without the `r#` of a raw identifier.
fn name(field: &Field) -> &'static str {
    let name = field.name();
    name.strip_prefix("r#").unwrap_or(name)
}

/// `value` as it is, but with control characters (which could forge log
/// lines or drive a terminal) escaped.
fn bare(line: &mut String, value: &str) {
    if value.chars().any(char::is_control) {
        for c in value.chars() {
            if c.is_control() {
                line.extend(c.escape_debug());
            } else {
                line.push(c);
            }
        }
    } else {
        line.push_str(value);
    }
}

/// `value` quoted and escaped as `Debug` quotes a string.
fn quoted(line: &mut String, value: &str) {
    if value.bytes().all(|byte| (0x20..0x7f).contains(&byte) && byte != b'"' && byte != b'\\') {
        line.push('"');
        line.push_str(value);
        line.push('"');
    } else {
        let _ = write!(line, "{value:?}");
    }
}

/// `value` as a JSON string.
fn json_string(line: &mut String, value: &str) {
    if value.bytes().all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\' && byte != 0x7f) {
        line.push('"');
        line.push_str(value);
        line.push('"');
    } else {
        line.push_str(&serde_json::Value::from(value).to_string());
    }
}

thread_local! {
    /// The second last formatted by this thread, and its text up to the seconds.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Now as RFC 3339 with microseconds, in UTC: `2026-12-02T12:11:25.393764Z`.
fn timestamp(line: &mut String) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = now.as_secs();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != seconds {
            *cached = (seconds, civil(seconds));
        }
        line.push_str(&cached.1);
    });
    line.push('.');
    push_digits(line, u64::from(now.subsec_micros()), 6);
    line.push('Z');
}

/// Writes `value` as `{:?}` does. Every call's line carries a duration in
/// milliseconds rounded to the microsecond, and for such a value (at most
/// three decimals) the float formatter cost more than the rest of the line:
/// it is written from its thousandths instead.
fn push_f64(line: &mut String, value: f64) {
    let thousandths = (value * 1000.0).round();
    // Below 10^12 two values three decimals apart are many ulps apart, so the
    // shortest decimal that reads back as `value` (what `{:?}` writes) is the
    // one of its thousandths; `{:?}` turns to exponents only past 10^16 or
    // below 10^-4.
    if thousandths.abs() < 1e15 && thousandths / 1000.0 == value {
        if value.is_sign_negative() {
            line.push('-');
        }
        #[expect(clippy::cast_possible_truncation, reason = "a whole number under 10^15: the cast is exact")]
        let thousandths = thousandths.abs() as u64;
        push_digits(line, thousandths / 1000, 1);
        line.push('.');
        let mut fraction = thousandths % 1000;
        let mut width = 3;
        while width > 1 && fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        push_digits(line, fraction, width);
    } else {
        let _ = write!(line, "{value:?}");
    }
}

/// Writes `value` in decimal, with leading zeros up to `width` digits.
fn push_digits(line: &mut String, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 || digits.len() - start < width {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    line.extend(digits[start..].iter().map(|&digit| char::from(digit)));
}

/// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS` (UTC), by Howard
/// Hinnant's `civil_from_days`.
fn civil(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let of_day = seconds % 86_400;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", of_day / 3_600, of_day % 3_600 / 60, of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn floats_read_as_debug_writes_them() {
        let mut values = vec![0.0, -0.0, 0.001, 0.003, 0.25, 1.0, 10.5, 19.999, 1e7, 123_456.789, -2.5, 0.1 + 0.2];
        values.extend([1e-5, 1e12, 999_999_999_999.999, 1e15, 1e16, 1e300, f64::MAX, f64::MIN_POSITIVE, 1.0 / 3.0]);
        values.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        // Every duration a call's line can carry, at the microsecond, up to 10 s.
        let duration_ms = |took: std::time::Duration| (took.as_secs_f64() * 1e6).round() / 1e3;
        values.extend(
            (0..10_000_000).step_by(997).map(|nanos| duration_ms(std::time::Duration::from_nanos(nanos * 1_001))),
        );
        values.extend((0..10_000_000_u32).step_by(997).map(|micros| f64::from(micros) / 1e3));
        for value in values {
            let mut line = String::new();
            push_f64(&mut line, value);
            assert_eq!(line, format!("{value:?}"), "{value:e}");
        }
    }

    #[test]
    fn dates_are_those_of_the_calendar() {
        assert_eq!(civil(0), "1970-01-01T00:00:00");
        assert_eq!(civil(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(civil(1_796_213_485), "2026-12-02T12:11:25");
        assert_eq!(civil(4_107_542_399), "2100-02-28T23:59:59");
    }

    /// The lines `log` writes in `shape`.
    fn lines(shape: Shape, log: impl FnOnce()) -> Vec<String> {
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("lock").extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Lines::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .event_format(LineFormat(shape))
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        text.lines().map(str::to_string).collect()
    }

    fn log_a_call() {
        let peer = "127.0.0.1:5000".to_string();
        let error = "order \"9\"\n not found";
        tracing::info!(
            method = "/ecommerce.OrderManagement/getOrder",
            peer,
            code = "NotFound",
            duration_ms = 0.25,
            error,
            "call"
        );
        tracing::warn!(batch_size = %3, "listening on {}", "http://127.0.0.1:50051");
        tracing::info!("a message with a\tcontrol {}", "character");
    }

    #[test]
    fn human_lines_read_as_tracing_subscriber_writes_them() {
        let lines = lines(Shape::Human, log_a_call);
        assert_eq!(lines.len(), 3, "{lines:?}");
        let (time, rest) = lines[0].split_at(27);
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
        assert_eq!(
            rest,
            r#"  INFO backend::logs::format::tests: call method="/ecommerce.OrderManagement/getOrder" peer="127.0.0.1:5000" code="NotFound" duration_ms=0.25 error="order \"9\"\n not found""#
        );
        assert!(
            lines[1].ends_with("  WARN backend::logs::format::tests: listening on http://127.0.0.1:50051 batch_size=3"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with(r"  INFO backend::logs::format::tests: a message with a\tcontrol character"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn json_lines_are_json_with_the_fields_flattened() {
        let lines = lines(Shape::Json, log_a_call);
        let call: serde_json::Value = serde_json::from_str(&lines[0]).expect("json");
        assert_eq!(call["level"], "INFO");
        assert_eq!(call["message"], "call");
        assert_eq!(call["code"], "NotFound");
        assert_eq!(call["duration_ms"], 0.25);
        assert_eq!(call["error"], "order \"9\"\n not found");
        assert_eq!(call["target"], "backend::logs::format::tests");
        assert!(call["timestamp"].as_str().is_some_and(|time| time.len() == 27), "{call}");
        let warning: serde_json::Value = serde_json::from_str(&lines[1]).expect("json");
        assert_eq!((warning["batch_size"].as_str(), warning["level"].as_str()), (Some("3"), Some("WARN")));
    }
}
