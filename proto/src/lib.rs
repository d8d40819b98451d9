//! Protobuf types of the `deai.*` packages: module parameters, their query
//! messages and chain-level records. Generated at build time by prost from
//! the `.proto` files beside this crate; Cosmos SDK types come from
//! `cosmos-sdk-proto` instead.
//!
//! The crate also owns the descriptors of everything the chain serves: the
//! `deai.*` packages with their `Query`/`Msg` services, and our own
//! declarations of the Cosmos SDK v0.50 services (auth, bank, tx,
//! base.tendermint, base.node, gov v1) with the CometBFT types they embed,
//! wire-identical to the SDK's and carrying its `google.api.http` routes.
//! gRPC reflection and the REST gateway read them through
//! [`descriptor_pool`].

#![allow(missing_docs)] // generated code carries the .proto comments instead

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;

/// The encoded `google.protobuf.FileDescriptorSet` of every .proto file
/// beside this crate and the well-known types they import.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/deai_descriptor.bin"));

/// [`FILE_DESCRIPTOR_SET`] decoded once into a pool of services, messages
/// and enums.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .expect("protoc wrote a valid descriptor set at build time")
    })
}

/// `deai.app.v1`: chain-level records.
pub mod app {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.app.v1.rs"));
    }
}

/// `deai.auth.v1`: auth parameters.
pub mod auth {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.auth.v1.rs"));
    }
}

/// `deai.bank.v1`: bank parameters.
pub mod bank {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.bank.v1.rs"));
    }
}

/// `deai.gov.v1`: governance records, params, queries and DeAI's own gov messages.
pub mod gov {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.gov.v1.rs"));
    }
}

/// `deai.treasury.v1`: the DAO treasury.
pub mod treasury {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.treasury.v1.rs"));
    }
}

/// `deai.compute.v1`: compute module state, messages and queries.
pub mod compute {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/deai.compute.v1.rs"));
    }
}
