//! Compiles the deai.* .proto files with prost, and writes one descriptor set
//! of every .proto beside this crate (deai, Cosmos SDK, CometBFT, google.api)
//! for the gRPC reflection service and the REST gateway. Uses the vendored
//! protoc so a fresh machine needs no system protobuf compiler.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// The packages with Rust generated here; the rest have theirs in
/// cosmos-sdk-proto and tendermint-proto.
const GENERATED: [&str; 19] = [
    "deai/app/v1/app.proto",
    "deai/app/v1/events.proto",
    "deai/auth/v1/auth.proto",
    "deai/auth/v1/events.proto",
    "deai/bank/v1/bank.proto",
    "deai/bank/v1/events.proto",
    "deai/gov/v1/gov.proto",
    "deai/gov/v1/events.proto",
    "deai/treasury/v1/treasury.proto",
    "deai/treasury/v1/events.proto",
    "deai/compute/v1/compute.proto",
    "deai/compute/v1/events.proto",
    "deai/staking/v1/events.proto",
    "deai/slashing/v1/events.proto",
    "deai/distribution/v1/events.proto",
    "deai/mint/v1/events.proto",
    "deai/ibccompute/v1/ibccompute.proto",
    "deai/rounds/v1/rounds.proto",
    "deai/rounds/v1/events.proto",
];

/// Folders whose .proto files all go into the descriptor set.
const ROOTS: [&str; 5] = ["deai", "cosmos", "cosmos_proto", "tendermint", "google"];

/// Every .proto file under `dir`, relative to the crate, in a stable order.
fn protos(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry is readable").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            protos(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let protoc =
        protoc_bin_vendored::protoc_bin_path().expect("vendored protoc exists for this platform");
    let well_known =
        protoc_bin_vendored::include_path().expect("vendored protoc ships its includes");
    std::env::set_var("PROTOC", &protoc);

    let mut all = Vec::new();
    for root in ROOTS {
        println!("cargo:rerun-if-changed={root}");
        protos(Path::new(root), &mut all);
    }
    for f in &all {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let includes = [PathBuf::from("."), well_known.clone()];
    prost_build::Config::new()
        // `prost::Name` on every message: typed events find their descriptor
        // (and so their ABCI kind and attributes) by full name.
        .enable_type_names()
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
        .compile_protos(&GENERATED, &includes)
        .expect("the deai .proto files compile");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let status = Command::new(&protoc)
        .arg("-I.")
        .arg(format!("-I{}", well_known.display()))
        .arg("--include_imports")
        .arg(format!(
            "--descriptor_set_out={}",
            out_dir.join("deai_descriptor.bin").display()
        ))
        .args(&all)
        .status()
        .expect("the vendored protoc runs");
    assert!(
        status.success(),
        "protoc could not build the descriptor set"
    );
}
