//! The tools people point at gRPC servers: the standard health service and
//! server reflection (v1 and v1alpha), which needs no proto on the client's side.

mod common;

use common::spawn;
use futures::StreamExt;
use prost::Message;
use tonic::transport::Channel;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::{v1, v1alpha};

async fn channel(server: &common::TestServer) -> Channel {
    Channel::from_shared(server.url()).expect("url").connect().await.expect("connect")
}

fn status(code: i32) -> ServingStatus {
    match code {
        1 => ServingStatus::Serving,
        2 => ServingStatus::NotServing,
        _ => ServingStatus::Unknown,
    }
}

#[tokio::test]
async fn every_service_is_serving_and_an_unknown_one_is_not_found() {
    let server = spawn().await;
    let mut health = HealthClient::new(channel(&server).await);
    for service in ["", "ecommerce.OrderManagement", "ecommerce.OrderManagementWeb"] {
        let reply = health.check(HealthCheckRequest { service: service.into() }).await.expect("check").into_inner();
        assert_eq!(status(reply.status), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health.check(HealthCheckRequest { service: "no.Such".into() }).await.expect_err("unknown");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn health_turns_not_serving_when_shutdown_begins() {
    let mut server = spawn().await;
    let mut health = HealthClient::new(channel(&server).await);
    let request = HealthCheckRequest { service: "ecommerce.OrderManagement".into() };
    let mut watch = health.watch(request).await.expect("watch").into_inner();
    let first = watch.message().await.expect("read").expect("a status");
    assert_eq!(status(first.status), ServingStatus::Serving);
    server.shut_down();
    let next = watch.message().await.expect("read").expect("a status");
    assert_eq!(status(next.status), ServingStatus::NotServing);
}

/// Asks reflection v1 one question and returns its answer.
async fn ask_v1(
    server: &common::TestServer,
    request: v1::server_reflection_request::MessageRequest,
) -> v1::server_reflection_response::MessageResponse {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel(server).await);
    let request = v1::ServerReflectionRequest { host: String::new(), message_request: Some(request) };
    let mut replies =
        client.server_reflection_info(futures::stream::iter([request])).await.expect("reflect").into_inner();
    replies.next().await.expect("a reply").expect("ok").message_response.expect("a response")
}

#[tokio::test]
async fn reflection_v1_lists_the_services_and_describes_order_management() {
    let server = spawn().await;
    let v1::server_reflection_response::MessageResponse::ListServicesResponse(list) =
        ask_v1(&server, v1::server_reflection_request::MessageRequest::ListServices(String::new())).await
    else {
        panic!("expected a list of services")
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    for expected in ["ecommerce.OrderManagement", "ecommerce.OrderManagementWeb", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|name| name == expected), "{expected} missing from {names:?}");
    }

    let symbol =
        v1::server_reflection_request::MessageRequest::FileContainingSymbol("ecommerce.OrderManagement".into());
    let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files) = ask_v1(&server, symbol).await
    else {
        panic!("expected file descriptors")
    };
    let files: Vec<prost_types::FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| Message::decode(bytes.as_slice()).expect("descriptor"))
        .collect();
    let service = files
        .iter()
        .flat_map(|file| &file.service)
        .find(|service| service.name() == "OrderManagement")
        .expect("the OrderManagement service");
    let methods: Vec<&str> = service.method.iter().map(|method| method.name()).collect();
    assert_eq!(methods, ["addOrder", "getOrder", "searchOrders", "updateOrders", "processOrders"]);
    let process = &service.method[4];
    assert!(process.client_streaming() && process.server_streaming(), "processOrders is bidirectional");
}

#[tokio::test]
async fn reflection_v1alpha_answers_older_tools() {
    let server = spawn().await;
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel(&server).await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(String::new())),
    };
    let mut replies =
        client.server_reflection_info(futures::stream::iter([request])).await.expect("reflect").into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        replies.next().await.expect("a reply").expect("ok").message_response
    else {
        panic!("expected a list of services")
    };
    assert!(list.service.iter().any(|service| service.name == "ecommerce.OrderManagement"));
}
