//! Protobuf types of the deai.* packages, built with prost.
