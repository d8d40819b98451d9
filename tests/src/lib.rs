//! End-to-end tests that drive deaid through the ABCI socket as CometBFT does.
