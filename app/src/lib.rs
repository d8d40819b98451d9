//! The DeAI chain application: block lifecycle, transactions, ABCI server and the deaid binary.
