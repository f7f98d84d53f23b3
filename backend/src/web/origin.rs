//! Which web origins may call the service from a browser, enforced before any
//! gRPC-Web call runs and advertised through CORS.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::ORIGIN;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};
use url::Url;

/// An origin named by `--cors-origin`: `scheme://host[:port]`, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin(String);

impl FromStr for AllowedOrigin {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self(text.into()));
        }
        let plain = |url: &Url| {
            matches!(url.scheme(), "http" | "https")
                && url.has_host()
                && url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
        };
        match Url::parse(text) {
            Ok(url) if plain(&url) => Ok(Self(url.origin().ascii_serialization())),
            _ => {
                Err(format!("{text:?} is not an origin: expected scheme://host[:port], such as http://localhost:8080"))
            }
        }
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An origin as the URL standard serializes it: scheme and host lower-cased (and
/// international names in their ASCII form), the scheme's default port and any
/// trailing slash dropped. What is not a URL (`null`) stays as it came.
fn normalize(origin: &str) -> String {
    match Url::parse(origin) {
        Ok(url) if url.has_host() => url.origin().ascii_serialization(),
        _ => origin.to_string(),
    }
}

/// The origins allowed to call: the listed ones, and always the server's own.
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginPolicy {
    listed: Arc<[AllowedOrigin]>,
}

impl OriginPolicy {
    pub(crate) fn new(listed: &[AllowedOrigin]) -> Self {
        Self { listed: listed.into() }
    }

    /// Whether a request from `origin` may be served.
    pub(crate) fn allows(&self, origin: &HeaderValue, request: &Parts) -> bool {
        let Ok(origin) = origin.to_str() else { return false };
        let origin = normalize(origin);
        self.listed.iter().any(|listed| listed.0 == "*" || listed.0 == origin) || is_same_origin(&origin, request)
    }

    /// The answer to a request whose `Origin` may not call, if it has such a one:
    /// HTTP 403 with `grpc-status` 7 and a message naming the flag that would allow it.
    pub(crate) fn refusal(&self, request: &Parts) -> Option<Response> {
        let origin = request.headers.get(ORIGIN)?;
        (!self.allows(origin, request)).then(|| refusal(origin))
    }

    /// CORS headers for the allowed origins, with what gRPC-Web needs a browser to send and read.
    pub(crate) fn cors_layer(&self) -> CorsLayer {
        let policy = self.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, request| policy.allows(origin, request)))
            .allow_methods([Method::POST])
            // Any request header the page asks to send: gRPC metadata is free-form
            // (`x-request-id`, `traceparent`...). Nothing is trusted for being
            // allowed here: the write token in `authorization` is still checked by
            // the call, and browsers never let a page set cookies or hop-by-hop headers.
            .allow_headers(AllowHeaders::mirror_request())
            // Every response header, the call's own metadata included, as well as
            // grpc-status and grpc-message (no credentials are ever allowed, so `*` holds).
            .expose_headers(ExposeHeaders::any())
            .max_age(Duration::from_secs(24 * 60 * 60))
    }
}

/// Whether `origin` (normalized) names the host the request was sent to.
fn is_same_origin(origin: &str, request: &Parts) -> bool {
    let Some((scheme, _)) = origin.split_once("://") else { return false };
    crate::web::hosts::requested_host(request).is_some_and(|host| normalize(&format!("{scheme}://{host}")) == origin)
}

/// Middleware: refuses a request whose `Origin` is not allowed, before CORS or
/// the service see it. Requests without `Origin` (native clients) pass.
pub(crate) async fn refuse_foreign_origins(
    State(policy): State<OriginPolicy>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(refused) = policy.refusal(&parts) {
        return refused;
    }
    next.run(Request::from_parts(parts, body)).await
}

fn refusal(origin: &HeaderValue) -> Response {
    let origin = String::from_utf8_lossy(origin.as_bytes());
    let origin = crate::echo::cut(&origin);
    let message = format!("origin {origin} may not call this server; start it with --cors-origin {origin} to allow it");
    permission_denied(message, "origin not allowed")
}

/// HTTP 403 with `grpc-status` 7 (PERMISSION_DENIED) and `message`, in the
/// body and as `grpc-message` (`fallback` there if it cannot be a header):
/// how the guards before routing refuse a browser's request.
pub(crate) fn permission_denied(message: String, fallback: &'static str) -> Response {
    let grpc_message = HeaderValue::from_str(&message).unwrap_or(HeaderValue::from_static(fallback));
    (
        StatusCode::FORBIDDEN,
        [
            (HeaderName::from_static("grpc-status"), HeaderValue::from_static("7")),
            (HeaderName::from_static("grpc-message"), grpc_message),
        ],
        message,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use http::header::HOST;

    use super::*;

    fn request(host: &str) -> Parts {
        http::Request::post("/ecommerce.OrderManagement/getOrder")
            .header(HOST, host)
            .body(())
            .expect("request")
            .into_parts()
            .0
    }

    fn allows(listed: &[&str], origin: &str, host: &str) -> bool {
        let listed: Vec<AllowedOrigin> = listed.iter().map(|o| o.parse().expect("origin")).collect();
        OriginPolicy::new(&listed).allows(&HeaderValue::from_str(origin).expect("header"), &request(host))
    }

    #[test]
    fn the_servers_own_origin_is_always_allowed() {
        assert!(allows(&[], "http://127.0.0.1:50051", "127.0.0.1:50051"));
        assert!(allows(&[], "http://shop.example", "shop.example:80"));
        assert!(!allows(&[], "http://127.0.0.1:8080", "127.0.0.1:50051"));
    }

    #[test]
    fn listed_origins_are_allowed_ignoring_case_and_default_ports() {
        assert!(allows(&["http://localhost:8080"], "http://localhost:8080", "127.0.0.1:50051"));
        assert!(allows(&["https://Shop.Example/"], "https://shop.example:443", "127.0.0.1:50051"));
        assert!(!allows(&["https://shop.example"], "http://shop.example", "127.0.0.1:50051"));
        assert!(!allows(&["http://localhost:8080"], "null", "127.0.0.1:50051"));
        assert!(allows(&["https://bücher.example"], "https://xn--bcher-kva.example", "127.0.0.1:50051"));
    }

    #[test]
    fn a_star_allows_any_origin() {
        assert!(allows(&["*"], "https://anywhere.example", "127.0.0.1:50051"));
    }

    #[test]
    fn only_plain_origins_can_be_listed() {
        for bad in [
            "localhost:8080",
            "ftp://a.example",
            "http://",
            "http://a.example/x",
            "http://u@a.example",
            "http://a.example?q",
            "http://a b.example",
        ] {
            assert!(bad.parse::<AllowedOrigin>().is_err(), "{bad}");
        }
    }
}
