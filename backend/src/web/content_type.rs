//! The content types this server speaks, and the answer to any other.
//!
//! A gRPC call is `application/grpc` or `application/grpc+proto`; a gRPC-Web
//! one `application/grpc-web[-text][+proto]`. Anything else sent to a gRPC
//! path (JSON, Connect's `application/proto`, `application/grpc+json`) used to
//! be decoded as protobuf and fail INTERNAL over HTTP/2, or get a bare 400
//! over HTTP/1.1. The gRPC spec asks for HTTP 415, so that no plain HTTP
//! client takes a gRPC error (status 200) for success; as grpc-go does, the
//! answer also carries `grpc-status` INTERNAL and a message naming the type,
//! for gRPC and gRPC-Web clients alike.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The media type of a `content-type` value: before any parameter, trimmed.
fn media_type(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&byte| byte == b';').unwrap_or(value.len());
    value[..end].trim_ascii()
}

/// `application/grpc` or `application/grpc+proto`: a native gRPC call.
pub(crate) fn is_native(value: &[u8]) -> bool {
    let media = media_type(value);
    media.eq_ignore_ascii_case(b"application/grpc") || media.eq_ignore_ascii_case(b"application/grpc+proto")
}

/// One of the four gRPC-Web types (binary or base64 text, `+proto` or not).
pub(crate) fn is_grpc_web(value: &[u8]) -> bool {
    const WEB: [&[u8]; 4] = [
        b"application/grpc-web",
        b"application/grpc-web+proto",
        b"application/grpc-web-text",
        b"application/grpc-web-text+proto",
    ];
    let media = media_type(value);
    WEB.iter().any(|web| media.eq_ignore_ascii_case(web))
}

/// Lets a request to the gRPC routes through only with a content type this
/// server speaks; answers any other with 415 (see the module's notes).
pub(crate) async fn refuse_unspoken(request: Request, next: Next) -> Response {
    let content_type = request.headers().get(header::CONTENT_TYPE);
    if content_type.is_some_and(|value| is_native(value.as_bytes()) || is_grpc_web(value.as_bytes())) {
        return next.run(request).await;
    }
    let named = match content_type {
        Some(value) => format!("content-type {:?}", crate::echo::cut(&String::from_utf8_lossy(value.as_bytes()))),
        None => "no content-type".to_string(),
    };
    let message = format!(
        "{named} is not one this server speaks: gRPC is application/grpc (or application/grpc+proto), \
         gRPC-Web application/grpc-web, application/grpc-web-text (+proto)"
    );
    let mut response = tonic::Status::internal(message.clone()).into_http::<axum::body::Body>();
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let (parts, _) = response.into_parts();
    (parts, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_and_grpc_web_types_are_spoken_with_any_parameters_and_case() {
        for native in ["application/grpc", "application/grpc+proto", "Application/GRPC; charset=utf-8"] {
            assert!(is_native(native.as_bytes()), "{native}");
            assert!(!is_grpc_web(native.as_bytes()), "{native}");
        }
        for web in [
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpc-web-text+proto",
        ] {
            assert!(is_grpc_web(web.as_bytes()), "{web}");
            assert!(!is_native(web.as_bytes()), "{web}");
        }
    }

    #[test]
    fn other_types_are_not_spoken() {
        for other in
            ["application/grpc+json", "application/proto", "application/json", "text/plain", "application/grpcx", ""]
        {
            assert!(!is_native(other.as_bytes()) && !is_grpc_web(other.as_bytes()), "{other}");
        }
    }
}
