//! Server reflection (`grpc.reflection.v1` and `v1alpha`): the descriptors of
//! every service served here, for tools that call a server without its proto
//! (grpcurl, grpcio-reflection, Postman).
//!
//! Served here rather than by tonic-reflection, whose stream ends with
//! NOT_FOUND at the first symbol it does not know: the reflection protocol
//! (and grpc-go, grpc-java and the C++ server) answer with an
//! `error_response` inside the open stream, so a client can go on asking. A
//! client such as grpcio-reflection's `DescriptorPool` asks for names it
//! only guesses at, and reads the error as "no such symbol". tonic-reflection
//! has no setting for that. As the reference servers do, a file is sent with
//! the files it depends on that this stream has not been sent yet. Its
//! generated servers and messages are used as they are.

use std::collections::HashSet;
use std::pin::Pin;

use futures::{Stream, StreamExt};
use prost::Message;
use prost_reflect::{DescriptorError, DescriptorPool, FileDescriptor};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{
    ErrorResponse, ExtensionNumberResponse, FileDescriptorResponse, ListServiceResponse, ServerReflectionRequest,
    ServerReflectionResponse, ServiceResponse,
};
use tonic_reflection::pb::{v1, v1alpha};

/// The descriptors reflection describes: the order services, health and reflection itself.
#[derive(Debug, Clone)]
pub(crate) struct Reflection {
    pool: DescriptorPool,
}

impl Reflection {
    /// Reflection over the descriptors compiled into the server.
    pub(crate) fn new() -> Result<Self, DescriptorError> {
        let mut pool = DescriptorPool::new();
        for set in crate::rpc::methods::SERVED_DESCRIPTOR_SETS {
            pool.decode_file_descriptor_set(set)?;
        }
        Ok(Self { pool })
    }

    /// The `grpc.reflection.v1.ServerReflection` service.
    pub(crate) fn v1(&self) -> v1::server_reflection_server::ServerReflectionServer<Self> {
        v1::server_reflection_server::ServerReflectionServer::new(self.clone())
    }

    /// The `grpc.reflection.v1alpha.ServerReflection` service, for older tools.
    pub(crate) fn v1alpha(&self) -> v1alpha::server_reflection_server::ServerReflectionServer<Self> {
        v1alpha::server_reflection_server::ServerReflectionServer::new(self.clone())
    }

    /// The answer to one request of a stream that has already been sent the files in `sent`.
    fn answer(&self, request: ServerReflectionRequest, sent: &mut HashSet<String>) -> ServerReflectionResponse {
        let answer = match &request.message_request {
            None => Err(Status::invalid_argument("the request asks nothing: no message_request is set")),
            Some(MessageRequest::FileByFilename(name)) => self
                .pool
                .get_file_by_name(name)
                .ok_or_else(|| Status::not_found(format!("no file {} is known here", crate::echo::quoted(name))))
                .map(|file| files_with_dependencies(file, sent)),
            Some(MessageRequest::FileContainingSymbol(symbol)) => self
                .file_declaring(symbol)
                .ok_or_else(|| Status::not_found(format!("no symbol {} is known here", crate::echo::quoted(symbol))))
                .map(|file| files_with_dependencies(file, sent)),
            Some(MessageRequest::FileContainingExtension(extension)) => self
                .pool
                .all_extensions()
                .find(|found| {
                    found.containing_message().full_name() == extension.containing_type
                        && found.number() == u32::try_from(extension.extension_number).unwrap_or(0)
                })
                .ok_or_else(|| {
                    Status::not_found(format!(
                        "no extension {} of {} is known here",
                        extension.extension_number,
                        crate::echo::quoted(&extension.containing_type)
                    ))
                })
                .map(|found| files_with_dependencies(found.parent_file(), sent)),
            Some(MessageRequest::AllExtensionNumbersOfType(name)) => self
                .pool
                .get_message_by_name(name)
                .ok_or_else(|| {
                    Status::not_found(format!("no message type {} is known here", crate::echo::quoted(name)))
                })
                .map(|message| {
                    let numbers = self.pool.all_extensions().filter(|found| found.containing_message() == message);
                    MessageResponse::AllExtensionNumbersResponse(ExtensionNumberResponse {
                        base_type_name: message.full_name().to_string(),
                        extension_number: numbers.filter_map(|found| i32::try_from(found.number()).ok()).collect(),
                    })
                }),
            Some(MessageRequest::ListServices(_)) => {
                let service = self.pool.services().map(|service| ServiceResponse { name: service.full_name().into() });
                Ok(MessageResponse::ListServicesResponse(ListServiceResponse { service: service.collect() }))
            }
        };
        let message_response = answer.unwrap_or_else(|status| {
            MessageResponse::ErrorResponse(ErrorResponse {
                error_code: status.code() as i32,
                error_message: status.message().to_string(),
            })
        });
        ServerReflectionResponse {
            valid_host: request.host.clone(),
            original_request: Some(request),
            message_response: Some(message_response),
        }
    }

    /// The file that declares `symbol`: a service, method, message, field,
    /// oneof, enum, enum value or extension, by its fully-qualified name.
    fn file_declaring(&self, symbol: &str) -> Option<FileDescriptor> {
        let pool = &self.pool;
        let symbol = symbol.strip_prefix('.').unwrap_or(symbol);
        if let Some(service) = pool.get_service_by_name(symbol) {
            return Some(service.parent_file());
        }
        if let Some(message) = pool.get_message_by_name(symbol) {
            return Some(message.parent_file());
        }
        if let Some(enumeration) = pool.get_enum_by_name(symbol) {
            return Some(enumeration.parent_file());
        }
        if let Some(extension) = pool.get_extension_by_name(symbol) {
            return Some(extension.parent_file());
        }
        let (parent, _) = symbol.rsplit_once('.')?;
        if let Some(service) = pool.get_service_by_name(parent)
            && service.methods().any(|method| method.full_name() == symbol)
        {
            return Some(service.parent_file());
        }
        if let Some(message) = pool.get_message_by_name(parent)
            && (message.fields().any(|field| field.full_name() == symbol)
                || message.oneofs().any(|oneof| oneof.full_name() == symbol))
        {
            return Some(message.parent_file());
        }
        // An enum value's name is a sibling of its enum's.
        let mut enums = pool.all_enums();
        enums
            .find(|enumeration| enumeration.values().any(|value| value.full_name() == symbol))
            .map(|found| found.parent_file())
    }

    /// Answers each request of `requests` in turn, in one stream that ends
    /// when they do (or with their error): `read` makes each a v1 request,
    /// `write` each v1 answer one of the caller's version.
    fn answers<Q, A>(
        &self,
        requests: Streaming<Q>,
        read: fn(Q) -> Result<ServerReflectionRequest, Status>,
        write: fn(ServerReflectionResponse) -> Result<A, Status>,
    ) -> Answers<A>
    where
        Q: Send + 'static,
        A: Send + 'static,
    {
        let (reflection, mut sent) = (self.clone(), HashSet::new());
        Box::pin(requests.map(move |request| write(reflection.answer(read(request?)?, &mut sent))))
    }
}

/// `file` encoded, then each file it depends on (breadth first) that this
/// stream has not been sent (`sent`, updated). `file` itself is sent even if
/// it was before: the client asked for it.
fn files_with_dependencies(file: FileDescriptor, sent: &mut HashSet<String>) -> MessageResponse {
    let mut files = Vec::new();
    let mut queue = std::collections::VecDeque::from([file]);
    while let Some(file) = queue.pop_front() {
        let unsent = sent.insert(file.name().to_string());
        if unsent || files.is_empty() {
            files.push(file.encode_to_vec());
            queue.extend(file.dependencies());
        }
    }
    MessageResponse::FileDescriptorResponse(FileDescriptorResponse { file_descriptor_proto: files })
}

/// A stream of reflection answers.
pub(crate) type Answers<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl v1::server_reflection_server::ServerReflection for Reflection {
    type ServerReflectionInfoStream = Answers<ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        Ok(Response::new(self.answers(request.into_inner(), Ok, Ok)))
    }
}

/// v1alpha's messages are v1's, field for field, under another package: its
/// requests are read as v1's and the answers written back as v1alpha's.
#[tonic::async_trait]
impl v1alpha::server_reflection_server::ServerReflection for Reflection {
    type ServerReflectionInfoStream = Answers<v1alpha::ServerReflectionResponse>;

    async fn server_reflection_info(
        &self,
        request: Request<Streaming<v1alpha::ServerReflectionRequest>>,
    ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
        let answers =
            self.answers(request.into_inner(), |request| same_message(&request), |answer| same_message(&answer));
        Ok(Response::new(answers))
    }
}

/// `message` as the message of the other reflection version that has its fields.
fn same_message<T: Message + Default>(message: &impl Message) -> Result<T, Status> {
    T::decode(message.encode_to_vec().as_slice())
        .map_err(|error| Status::new(Code::Internal, format!("reflection v1alpha and v1 messages differ: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_symbol_is_found_in_the_file_that_declares_it() {
        let reflection = Reflection::new().expect("our descriptors");
        let file = |symbol: &str| reflection.file_declaring(symbol).map(|file| file.name().to_string());
        let orders = Some("order_management.proto".to_string());
        let health = Some("health.proto".to_string());
        assert_eq!(file("ecommerce.OrderManagement"), orders, "a service");
        assert_eq!(file("ecommerce.OrderManagement.processOrders"), orders, "a method");
        assert_eq!(file("ecommerce.CombinedShipment"), orders, "a message");
        assert_eq!(file(".ecommerce.Order.price"), orders, "a field, with a leading dot");
        assert_eq!(file("grpc.health.v1.HealthCheckResponse.ServingStatus"), health, "a nested enum");
        assert_eq!(file("grpc.health.v1.HealthCheckResponse.SERVICE_UNKNOWN"), health, "an enum value");
        assert_eq!(file("google.protobuf.StringValue"), Some("google/protobuf/wrappers.proto".into()));
        for unknown in ["", ".", "ecommerce", "ecommerce.Order.nothing", "ecommerce.OrderManagement.nothing", "no.Such"]
        {
            assert_eq!(file(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn every_served_service_is_listed() {
        let reflection = Reflection::new().expect("our descriptors");
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let Some(MessageResponse::ListServicesResponse(list)) =
            reflection.answer(request, &mut HashSet::new()).message_response
        else {
            panic!("expected a list")
        };
        let mut names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "ecommerce.OrderManagement",
                "ecommerce.OrderManagementWeb",
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ]
        );
    }
}
