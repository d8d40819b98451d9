//! Compiles the deai.* .proto files with prost, using the vendored protoc so a
//! fresh machine needs no system protobuf compiler.

use std::path::PathBuf;

fn main() {
    let protoc =
        protoc_bin_vendored::protoc_bin_path().expect("vendored protoc exists for this platform");
    std::env::set_var("PROTOC", protoc);
    let files: Vec<PathBuf> = [
        "deai/app/v1/app.proto",
        "deai/auth/v1/auth.proto",
        "deai/bank/v1/bank.proto",
        "deai/gov/v1/gov.proto",
        "deai/treasury/v1/treasury.proto",
        "deai/compute/v1/compute.proto",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let includes = [
        PathBuf::from("."),
        protoc_bin_vendored::include_path().expect("vendored protoc ships its includes"),
    ];
    prost_build::Config::new()
        // Cosmos SDK types come from cosmos-sdk-proto, so values pass between
        // our messages and the SDK's without conversion; `Any` is the one
        // cosmos-sdk-proto uses (tendermint-proto's).
        .compile_well_known_types()
        .extern_path(".google.protobuf", "::tendermint_proto::google::protobuf")
        .extern_path(
            ".cosmos.base.v1beta1",
            "::cosmos_sdk_proto::cosmos::base::v1beta1",
        )
        .extern_path(
            ".cosmos.base.query.v1beta1",
            "::cosmos_sdk_proto::cosmos::base::query::v1beta1",
        )
        .compile_protos(&files, &includes)
        .expect("the deai .proto files compile");
}
