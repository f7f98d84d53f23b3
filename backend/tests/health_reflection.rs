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

#[tokio::test]
async fn a_watch_of_an_unknown_service_says_service_unknown_stays_open_and_follows_it_once_it_appears() {
    use tonic_health::pb::health_check_response::ServingStatus as Status;
    let server = spawn().await;
    let mut health = HealthClient::new(channel(&server).await);
    let request = HealthCheckRequest { service: "later.Service".into() };
    let mut watch = health.watch(request).await.expect("a watch, not an error").into_inner();
    let first = watch.message().await.expect("read").expect("a status");
    assert_eq!(first.status, Status::ServiceUnknown as i32);
    server.app.health().set("later.Service", Status::Serving);
    let next = watch.message().await.expect("still open").expect("a status");
    assert_eq!(next.status, Status::Serving as i32);
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

#[tokio::test]
async fn reflection_answers_an_unknown_symbol_inside_the_stream_and_goes_on_answering() {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let server = spawn().await;
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel(&server).await);
    let (questions, asked) = tokio::sync::mpsc::unbounded_channel();
    let mut replies = client
        .server_reflection_info(tokio_stream::wrappers::UnboundedReceiverStream::new(asked))
        .await
        .expect("reflect")
        .into_inner();
    let mut ask = async |request: MessageRequest| {
        let request = v1::ServerReflectionRequest { host: "here".into(), message_request: Some(request) };
        questions.send(request.clone()).expect("the stream is open");
        let reply = replies.message().await.expect("the stream goes on").expect("a reply");
        assert_eq!(reply.original_request, Some(request), "each reply names its question");
        reply.message_response.expect("an answer")
    };

    let unknown = ask(MessageRequest::FileContainingSymbol("ecommerce.NoSuch".into())).await;
    let MessageResponse::ErrorResponse(error) = unknown else { panic!("expected an error response, got {unknown:?}") };
    assert_eq!(error.error_code, tonic::Code::NotFound as i32);
    assert!(error.error_message.contains("\"ecommerce.NoSuch\""), "{}", error.error_message);
    let nothing = ask(MessageRequest::FileByFilename("no/such.proto".into())).await;
    assert!(matches!(nothing, MessageResponse::ErrorResponse(ref error) if error.error_code == 5), "{nothing:?}");

    // A method's name finds its file, sent with the file it imports (the
    // wrappers) the first time, and alone after that.
    let names = |answer: MessageResponse| -> Vec<String> {
        let MessageResponse::FileDescriptorResponse(files) = answer else { panic!("expected files, got {answer:?}") };
        let decoded = files.file_descriptor_proto.iter();
        decoded
            .map(|bytes| {
                prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("a descriptor").name().to_string()
            })
            .collect()
    };
    let first = names(ask(MessageRequest::FileContainingSymbol("ecommerce.OrderManagement.getOrder".into())).await);
    assert_eq!(first, ["order_management.proto", "google/protobuf/wrappers.proto"]);
    let again = names(ask(MessageRequest::FileContainingSymbol("ecommerce.Order.destination".into())).await);
    assert_eq!(again, ["order_management.proto"]);

    let numbers = ask(MessageRequest::AllExtensionNumbersOfType("ecommerce.Order".into())).await;
    assert!(
        matches!(numbers, MessageResponse::AllExtensionNumbersResponse(ref found) if found.base_type_name == "ecommerce.Order" && found.extension_number.is_empty()),
        "{numbers:?}"
    );
    let unknown_type = ask(MessageRequest::AllExtensionNumbersOfType("ecommerce.NoSuch".into())).await;
    assert!(
        matches!(unknown_type, MessageResponse::ErrorResponse(ref error) if error.error_code == 5),
        "{unknown_type:?}"
    );
}
