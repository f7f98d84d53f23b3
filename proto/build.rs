//! Compiles `order_management.proto` with protox (pure Rust, no `protoc`) and
//! generates messages, server traits and transport-free client stubs.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "order_management.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["."])?;
    tonic_prost_build::configure()
        // The same stubs serve native clients and the browser: no tonic transport.
        .build_transport(false)
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .build_client(std::env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .message_attribute(
            ".ecommerce",
            "#[cfg_attr(feature = \"serde\", derive(serde::Serialize, serde::Deserialize), serde(rename_all = \"camelCase\", default))]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
