//! Compiles the protos with protox (pure Rust, no `protoc`) and
//! generates messages, server traits and transport-free client stubs.

/// serde derives behind the `serde` feature, with proto3 JSON's lowerCamelCase field names.
const SERDE_MESSAGE: &str = "#[cfg_attr(feature = \"serde\", derive(serde::Serialize, serde::Deserialize), serde(rename_all = \"camelCase\", default))]";
const SERDE_ONEOF: &str =
    "#[cfg_attr(feature = \"serde\", derive(serde::Serialize, serde::Deserialize), serde(rename_all = \"camelCase\"))]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The book's service, and our extension for browsers.
    let protos = ["order_management.proto", "order_management_web.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["."])?;
    // The same descriptors, encoded, for server reflection (grpcurl, grpcui, Postman, Evans).
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("ordermgt_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure()
        // The same stubs serve native clients and the browser: no tonic transport.
        .build_transport(false)
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .build_client(std::env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .message_attribute(".ecommerce", SERDE_MESSAGE)
        .enum_attribute(".ecommerce", SERDE_ONEOF)
        .compile_fds(descriptors)?;
    Ok(())
}
