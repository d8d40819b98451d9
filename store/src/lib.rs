//! Verifiable versioned state: a Jellyfish Merkle tree over RocksDB with ICS-23 proofs.
