//! Bank module: balances, total supply, MsgSend and MsgMultiSend.
