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
        "deai/compute/v1/compute.proto",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    prost_build::Config::new()
        .compile_protos(&files, &[PathBuf::from(".")])
        .expect("the deai .proto files compile");
}
