//! Which names the server answers to a browser by. A page whose DNS name is
//! rebound to this server's address (DNS rebinding) sends its own name in
//! `Host`; a request naming a host the server is not known by is refused
//! before routing: the page, gRPC-Web and WebSocket calls alike.
//!
//! Known without being listed: IP literals (an origin that is an address
//! cannot be rebound) and `localhost` with its subdomains (browsers resolve
//! them to loopback themselves). Any other name must be given with
//! `--allowed-host`, or `*` to answer to every name.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::HOST;
use http::request::Parts;

use crate::echo;

/// A name given with `--allowed-host`: a DNS name, without scheme or port, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost(String);

impl FromStr for AllowedHost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = name == "*"
            || (!name.is_empty()
                && name.len() <= 253
                && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_')));
        if valid {
            Ok(Self(name))
        } else {
            Err(format!(
                "{text:?} is not a host name: expected a name such as orders.example.com, without scheme or port"
            ))
        }
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names the server answers to.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostPolicy {
    listed: Arc<[AllowedHost]>,
}

impl HostPolicy {
    pub(crate) fn new(listed: &[AllowedHost]) -> Self {
        Self { listed: listed.into() }
    }

    /// Whether the server answers to `host`, a `Host` header or `:authority`
    /// (`name[:port]`, `[v6]:port`).
    pub(crate) fn allows(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else { return false };
        if name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        self.listed.iter().any(|listed| listed.0 == "*" || listed.0 == name)
    }

    /// The answer to a request naming a host the server is not known by, if it does.
    pub(crate) fn refusal(&self, request: &Parts) -> Option<Response> {
        let host = requested_host(request)?;
        (!self.allows(&host)).then(|| refusal(&host))
    }
}

/// The host a request was sent to: HTTP/2's `:authority`, else the `Host` header.
pub(crate) fn requested_host(request: &Parts) -> Option<Cow<'_, str>> {
    match request.uri.authority() {
        Some(authority) => Some(Cow::Borrowed(authority.as_str())),
        None => request.headers.get(HOST).map(|host| String::from_utf8_lossy(host.as_bytes())),
    }
}

/// The name part of `host`, lowercased, without port, brackets or trailing dot.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']')?.0
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some(name)
}

/// Middleware: refuses a request for a host the server is not known by,
/// before anything else sees it.
pub(crate) async fn refuse_unknown_hosts(State(policy): State<HostPolicy>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(refused) = policy.refusal(&parts) {
        return refused;
    }
    next.run(Request::from_parts(parts, body)).await
}

fn refusal(host: &str) -> Response {
    let host = echo::cut(host);
    let name = host_name(&host).unwrap_or_default();
    let message = format!(
        "this server does not answer to the name {host} (a guard against DNS rebinding); \
         start it with --allowed-host {name} if that is its name"
    );
    crate::web::origin::permission_denied(message, "unknown host")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(listed: &[&str], host: &str) -> bool {
        let listed: Vec<AllowedHost> = listed.iter().map(|name| name.parse().expect("host")).collect();
        HostPolicy::new(&listed).allows(host)
    }

    #[test]
    fn addresses_and_localhost_are_always_known() {
        for host in
            ["127.0.0.1:50051", "10.1.2.3", "[::1]:8080", "[fe80::1]", "localhost:8080", "LOCALHOST.", "app.localhost"]
        {
            assert!(allows(&[], host), "{host}");
        }
    }

    #[test]
    fn other_names_must_be_listed() {
        assert!(!allows(&[], "rebind.evil.example:50051"));
        assert!(!allows(&[], "localhost.evil.example"));
        assert!(!allows(&[], ""));
        assert!(allows(&["orders.example.com"], "Orders.Example.com:443"));
        assert!(!allows(&["orders.example.com"], "evil.example.com"));
        assert!(allows(&["*"], "anything.example"));
    }

    #[test]
    fn the_http2_authority_is_checked_before_any_host_header() {
        let request = |uri: &str, host: &str| {
            http::Request::post(uri).header(HOST, host).body(()).expect("request").into_parts().0
        };
        let policy = HostPolicy::default();
        assert!(policy.refusal(&request("http://rebind.evil.example:8080/x", "127.0.0.1")).is_some());
        assert!(policy.refusal(&request("http://127.0.0.1:8080/x", "rebind.evil.example")).is_none());
        assert!(policy.refusal(&request("/x", "rebind.evil.example:8080")).is_some());
        assert!(policy.refusal(&request("/x", "localhost:8080")).is_none());
    }

    #[test]
    fn only_bare_names_can_be_listed() {
        for bad in ["http://a.example", "a.example:80", "a example", "", "a/b"] {
            assert!(bad.parse::<AllowedHost>().is_err(), "{bad}");
        }
    }
}
