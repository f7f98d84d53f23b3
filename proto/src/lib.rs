//! The wire contract, generated at build time from the protos: the book's
//! `ecommerce.OrderManagement` (`order_management.proto`) and our browser
//! extension `ecommerce.OrderManagementWeb` (`order_management_web.proto`):
//! messages, plus server traits and client stubs behind the `server` and
//! `client` features.

mod generated {
    #![allow(unreachable_pub, missing_debug_implementations, non_camel_case_types, clippy::all)]
    tonic::include_proto!("ecommerce");
}

pub use generated::*;

/// Every message and service of the protos (with their imports) as an encoded
/// `FileDescriptorSet`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ordermgt_descriptor.bin"));

/// `CombinedShipment.status` of a shipment.
pub const STATUS_PROCESSED: &str = "Processed";
/// `CombinedShipment.status` of a rejection notice.
pub const STATUS_REJECTED: &str = "Rejected";

impl CombinedShipment {
    /// Whether this is a rejection notice rather than a shipment.
    pub fn is_rejection(&self) -> bool {
        self.status == STATUS_REJECTED
    }
}
