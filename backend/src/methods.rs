//! Every gRPC method the server serves, read from the compiled protos: its
//! path, its kind (unary or which way it streams) and whether it writes.
//!
//! Logs, metrics, timeouts and write access all key on this one table, so a
//! method added to the proto is covered without touching them.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use prost::Message;
use prost_types::FileDescriptorSet;

/// How a method's messages flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl Kind {
    /// The name Prometheus gRPC dashboards expect in the `grpc_type` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unary => "unary",
            Kind::ClientStream => "client_stream",
            Kind::ServerStream => "server_stream",
            Kind::BidiStream => "bidi_stream",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One method the server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// The HTTP path: `/ecommerce.OrderManagement/addOrder`.
    pub path: String,
    /// `ecommerce.OrderManagement`.
    pub service: String,
    /// `addOrder`.
    pub name: String,
    pub kind: Kind,
    /// Its place in the table, from 0 to [`count`] - 1: per-method state is kept in arrays.
    pub index: usize,
}

/// The methods that change stored orders; with a write token set, only
/// callers presenting it may call them. Everything else reads.
const WRITES: [&str; 3] = [
    "/ecommerce.OrderManagement/addOrder",
    "/ecommerce.OrderManagement/updateOrders",
    "/ecommerce.OrderManagementWeb/updateOrdersUnary",
];

static CATALOG: LazyLock<HashMap<String, Method>> = LazyLock::new(|| {
    let mut methods = HashMap::new();
    for encoded in [
        ordermgt_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ] {
        let set = FileDescriptorSet::decode(encoded).expect("the compiled-in descriptors decode");
        for file in set.file {
            for service in &file.service {
                let service_name = format!("{}.{}", file.package(), service.name());
                for method in &service.method {
                    let kind = match (method.client_streaming(), method.server_streaming()) {
                        (false, false) => Kind::Unary,
                        (true, false) => Kind::ClientStream,
                        (false, true) => Kind::ServerStream,
                        (true, true) => Kind::BidiStream,
                    };
                    let path = format!("/{service_name}/{}", method.name());
                    let index = methods.len();
                    let name = method.name().into();
                    let entry = Method { path: path.clone(), service: service_name.clone(), name, kind, index };
                    methods.insert(path, entry);
                }
            }
        }
    }
    methods
});

/// The method served at `path`, if any.
pub fn lookup(path: &str) -> Option<&'static Method> {
    CATALOG.get(path)
}

/// How many methods are served.
pub fn count() -> usize {
    CATALOG.len()
}

/// Whether the method at `path` changes stored orders.
pub fn writes(path: &str) -> bool {
    WRITES.contains(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_books_methods_are_known_with_their_kinds() {
        let kind = |path: &str| lookup(path).map(|method| method.kind);
        assert_eq!(kind("/ecommerce.OrderManagement/addOrder"), Some(Kind::Unary));
        assert_eq!(kind("/ecommerce.OrderManagement/searchOrders"), Some(Kind::ServerStream));
        assert_eq!(kind("/ecommerce.OrderManagement/updateOrders"), Some(Kind::ClientStream));
        assert_eq!(kind("/ecommerce.OrderManagement/processOrders"), Some(Kind::BidiStream));
        assert_eq!(kind("/grpc.health.v1.Health/Watch"), Some(Kind::ServerStream));
        assert_eq!(kind("/ecommerce.OrderManagement/nope"), None);
    }

    #[test]
    fn every_write_method_exists_and_reads_are_not_writes() {
        for path in WRITES {
            assert!(lookup(path).is_some(), "{path} is not a served method");
        }
        assert!(!writes("/ecommerce.OrderManagement/getOrder"));
        assert!(!writes("/ecommerce.OrderManagement/processOrders"));
    }
}
