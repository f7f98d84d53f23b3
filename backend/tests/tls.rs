//! TLS on the one port: native gRPC over HTTP/2, gRPC-Web over HTTP/1.1 and
//! the page, each negotiated by ALPN, with a certificate made for the test.

mod common;

use std::sync::Arc;

use backend::Config;
use bytes::Bytes;
use common::TestServer;
use common::grpc_web::{self, Encoding};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use ordermgt_proto::order_management_client::OrderManagementClient;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// A server with a fresh self-signed certificate for `localhost`, and that certificate.
async fn tls_server() -> (TestServer, rcgen::CertifiedKey<rcgen::KeyPair>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a test certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let tls = backend::tls::from_parts(vec![certified.cert.der().clone()], key).expect("certificate and key fit");
    (common::spawn_app(common::app(Config::default()).await.with_tls(tls)).await, certified)
}

/// A TLS connection to `server` offering only `alpn`, trusting `certificate`.
async fn connect(
    server: &TestServer,
    certificate: &CertificateDer<'static>,
    alpn: &[u8],
) -> TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate.clone()).expect("trust the test certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake")
}

async fn http1(
    stream: TlsStream<tokio::net::TcpStream>,
) -> hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>> {
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP/1.1");
    tokio::spawn(connection);
    sender
}

#[tokio::test]
async fn native_grpc_runs_over_tls_with_http2_negotiated_by_alpn() {
    let (server, certified) = tls_server().await;
    let stream = connect(&server, certified.cert.der(), b"h2").await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let tls =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(certified.cert.pem())).domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", server.addr))
        .expect("url")
        .tls_config(tls)
        .expect("tls config")
        .connect()
        .await
        .expect("connect over TLS");
    let order = OrderManagementClient::new(channel).get_order("102".to_string()).await.expect("get");
    assert_eq!(order.into_inner().id, "102");
}

#[tokio::test]
async fn grpc_web_runs_over_tls_on_http1() {
    let (server, certified) = tls_server().await;
    let stream = connect(&server, certified.cert.der(), b"http/1.1").await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let mut sender = http1(stream).await;
    let request = grpc_web::request("/ecommerce.OrderManagement/getOrder", Encoding::Text, &"103".to_string());
    let (mut parts, body) = request.into_parts();
    parts.headers.insert("host", "localhost".parse().expect("host"));
    let response =
        grpc_web::read(sender.send_request(http::Request::from_parts(parts, body)).await.expect("send")).await;
    assert_eq!(response.grpc_status.as_deref(), Some("0"), "{response:?}");
    assert_eq!(response.decode::<ordermgt_proto::Order>()[0].id, "103");
}

#[tokio::test]
async fn plain_http_paths_are_served_over_tls_too() {
    let (server, certified) = tls_server().await;
    let stream = connect(&server, certified.cert.der(), b"http/1.1").await;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await.expect("HTTP/1.1");
    tokio::spawn(connection);
    let request = http::Request::get("/metrics").header("host", "localhost").body(Empty::new()).expect("request");
    let response = sender.send_request(request).await.expect("send");
    assert_eq!(response.status(), 200);
    let text = response.into_body().collect().await.expect("body").to_bytes();
    assert!(text.starts_with(b"# HELP"), "{}", String::from_utf8_lossy(&text));
    // The page: 200 once built, else 503 naming the build command; HTML either way.
    let request = http::Request::get("/").header("host", "localhost").body(Empty::new()).expect("request");
    let response = sender.send_request(request).await.expect("send");
    assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused_and_the_server_serves_on() {
    let (server, certified) = tls_server().await;
    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("another certificate");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(stranger.cert.der().clone()).expect("trust the wrong certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    assert!(TlsConnector::from(Arc::new(config)).connect(name, tcp).await.is_err(), "untrusted certificate");

    let stream = connect(&server, certified.cert.der(), b"http/1.1").await;
    let mut sender = http1(stream).await;
    let request = grpc_web::request("/ecommerce.OrderManagement/getOrder", Encoding::Binary, &"104".to_string());
    let (mut parts, body) = request.into_parts();
    parts.headers.insert("host", "localhost".parse().expect("host"));
    let response =
        grpc_web::read(sender.send_request(http::Request::from_parts(parts, body)).await.expect("send")).await;
    assert_eq!(response.grpc_status.as_deref(), Some("0"));
}
