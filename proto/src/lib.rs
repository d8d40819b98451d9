//! Protobuf types of the `deai.*` packages: module parameters, their query
//! messages and chain-level records. Generated at build time by prost from
//! the `.proto` files beside this crate; Cosmos SDK types come from
//! `cosmos-sdk-proto` instead.

#![allow(missing_docs)] // generated code carries the .proto comments instead

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
