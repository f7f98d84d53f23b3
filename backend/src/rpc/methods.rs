//! Every gRPC method the server serves, read from the compiled protos: its
//! path, its kind (unary or which way it streams) and whether it writes.
//!
//! Logs, metrics, timeouts and write access all key on this one table, so a
//! method added to the proto is covered without touching them.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
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

/// The methods that only read: open to everyone. Every other served method
/// is taken to write, so with a write token set it needs the token: a method
/// added to a proto is closed until someone declares it a read here.
const READS: [&str; 10] = [
    "/ecommerce.OrderManagement/getOrder",
    "/ecommerce.OrderManagement/searchOrders",
    // Processing reads orders and ships them in its replies; it stores nothing.
    "/ecommerce.OrderManagement/processOrders",
    "/ecommerce.OrderManagementWeb/processOrdersOpen",
    "/ecommerce.OrderManagementWeb/processOrdersSubmit",
    "/ecommerce.OrderManagementWeb/processOrdersFinish",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The encoded descriptors of every service the server serves: the order
/// services, health, and reflection (both versions). Reflection describes them.
pub(crate) const SERVED_DESCRIPTOR_SETS: [&[u8]; 4] = [
    ordermgt_proto::FILE_DESCRIPTOR_SET,
    tonic_health::pb::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
];

#[expect(clippy::expect_used, reason = "the descriptors are compiled in: they decode, or no build of the server works")]
static CATALOG: LazyLock<HashMap<String, Method, BuildHasherDefault<PathHasher>>> = LazyLock::new(|| {
    let mut methods = HashMap::default();
    for encoded in SERVED_DESCRIPTOR_SETS {
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
pub(crate) fn lookup(path: &str) -> Option<&'static Method> {
    CATALOG.get(path)
}

/// The catalog's hash: every call looks its path up, in more than one layer,
/// and with SipHash (the default) a look-up cost twice as much. SipHash's
/// defence against chosen keys is not needed here: the server fills the table,
/// once, and a client's path is only ever looked up in it. (FxHash's
/// multiply-rotate, a word at a time.)
#[derive(Debug, Default)]
struct PathHasher(u64);

impl PathHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        let (words, rest) = bytes.as_chunks::<8>();
        for word in words {
            self.add(u64::from_le_bytes(*word));
        }
        let mut last = [0; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ rest.len() as u64);
    }

    fn finish(&self) -> u64 {
        // The table picks a bucket by the low bits, where a product mixes least.
        self.0.rotate_left(26)
    }
}

/// How many methods are served.
pub(crate) fn count() -> usize {
    CATALOG.len()
}

/// Whether the method at `path` may change stored orders: every served method
/// not declared in [`READS`]. A path no service serves writes nothing (it is
/// answered UNIMPLEMENTED).
pub(crate) fn writes(path: &str) -> bool {
    lookup(path).is_some() && !READS.contains(&path)
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

    /// Fails when a method is added to a proto: decide whether it only
    /// reads (add it to READS) or writes (add it here), then it passes.
    #[test]
    fn every_served_method_is_a_declared_read_or_one_of_the_known_writes() {
        let mut writes_found: Vec<&str> = CATALOG.keys().map(String::as_str).filter(|path| writes(path)).collect();
        writes_found.sort_unstable();
        assert_eq!(
            writes_found,
            [
                "/ecommerce.OrderManagement/addOrder",
                "/ecommerce.OrderManagement/updateOrders",
                "/ecommerce.OrderManagementWeb/updateOrdersUnary",
            ],
            "a served method is neither a declared read nor a known write"
        );
    }

    #[test]
    fn every_declared_read_is_served() {
        for path in READS {
            assert!(lookup(path).is_some(), "{path} is declared a read but not served");
        }
        assert!(!writes("/ecommerce.OrderManagement/nope"), "an unserved path is answered UNIMPLEMENTED, not refused");
    }
}
