//! `deaid tx ibc-transfer transfer` and `deaid query ibc-transfer …`:
//! ICS-20 token transfers to other chains, with ibc-go's message and
//! queries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Subcommand;
use deai_app::home::Home;
use deai_client::{tx::any, NodeClient};
use deai_types::Coin;
use ibc_proto::{
    cosmos::base::{query::v1beta1::PageRequest, v1beta1::Coin as ProtoCoin},
    ibc::{apps::transfer::v1 as transfer, core::client::v1::Height},
};

use crate::{
    print_out,
    txcli::{sign_and_broadcast, TxFlags},
    NodeArgs,
};

/// ICS-20 transactions.
#[derive(Subcommand)]
pub enum IbcTransferTxCmd {
    /// Send AMOUNT (one coin: 100udeai, or a voucher ibc/<HASH>) from the
    /// --from key over PORT/CHANNEL to RECEIVER on the other chain.
    Transfer {
        /// The source port (transfer).
        port: String,
        /// The source channel, channel-N.
        channel: String,
        /// The receiver's address on the other chain (its own format).
        receiver: String,
        /// One coin.
        amount: String,
        /// The sender's key.
        #[arg(long)]
        from: String,
        /// Absolute timeout height on the other chain, REVISION-HEIGHT
        /// (e.g. 1-5000); 0-0 for none.
        #[arg(long, default_value = "0-0")]
        packet_timeout_height: String,
        /// Absolute timeout, in nanoseconds since 1970 by the other chain's
        /// clock; 0 for the default (--timeout-seconds from now).
        #[arg(long, default_value_t = 0)]
        packet_timeout_timestamp: u64,
        /// With no --packet-timeout-timestamp: time out this many seconds
        /// from now (0 for no time timeout; then give a height).
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
        /// The packet's memo (the tx's own memo is --memo).
        #[arg(long, default_value = "")]
        packet_memo: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// ICS-20 queries.
#[derive(Subcommand)]
pub enum IbcTransferQueryCmd {
    /// The trace (path and base denom) of voucher ibc/<HASH>.
    DenomTrace {
        /// ibc/<HASH> or <HASH>.
        hash: String,
    },
    /// Every denom trace this chain holds vouchers of (first page of 1000).
    DenomTraces,
    /// The voucher hash of a trace path such as transfer/channel-0/uatom.
    DenomHash {
        /// The full trace path.
        trace: String,
    },
    /// The account that escrows tokens sent over PORT/CHANNEL.
    EscrowAddress {
        /// The port (transfer).
        port: String,
        /// The channel, channel-N.
        channel: String,
    },
    /// How much of DENOM all channels hold in escrow.
    TotalEscrow {
        /// A bank denom.
        denom: String,
    },
}

fn height(s: &str) -> anyhow::Result<Option<Height>> {
    let (rev, h) = s
        .split_once('-')
        .context("--packet-timeout-height: expected REVISION-HEIGHT, e.g. 1-5000")?;
    let h = Height {
        revision_number: rev.parse().context("--packet-timeout-height: revision")?,
        revision_height: h.parse().context("--packet-timeout-height: height")?,
    };
    Ok((h.revision_number != 0 || h.revision_height != 0).then_some(h))
}

/// Runs an ICS-20 transaction command.
pub async fn ibc_transfer_tx(home: &Home, cmd: IbcTransferTxCmd) -> anyhow::Result<()> {
    let IbcTransferTxCmd::Transfer {
        port,
        channel,
        receiver,
        amount,
        from,
        packet_timeout_height,
        packet_timeout_timestamp,
        timeout_seconds,
        packet_memo,
        flags,
    } = cmd;
    let coins = Coin::parse_list(&amount).context("AMOUNT")?;
    let [coin] = coins.as_slice() else {
        bail!("AMOUNT must be one coin, e.g. 100udeai");
    };
    let timeout_height = height(&packet_timeout_height)?;
    let timeout_timestamp = if packet_timeout_timestamp != 0 || timeout_seconds == 0 {
        packet_timeout_timestamp
    } else {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            + Duration::from_secs(timeout_seconds);
        u64::try_from(at.as_nanos()).context("--timeout-seconds is too far away")?
    };
    if timeout_height.is_none() && timeout_timestamp == 0 {
        bail!("give a timeout: --packet-timeout-height, --packet-timeout-timestamp or --timeout-seconds");
    }
    let token = ProtoCoin {
        denom: coin.denom.clone(),
        amount: coin.amount.to_string(),
    };
    sign_and_broadcast(home, &from, flags, "transfer", |a| {
        Ok(vec![any(
            deai_ibc::msg::TRANSFER_TYPE_URL,
            &transfer::MsgTransfer {
                source_port: port.clone(),
                source_channel: channel.clone(),
                token: Some(token.clone()),
                sender: a.to_bech32(),
                receiver: receiver.clone(),
                timeout_height,
                timeout_timestamp,
                memo: packet_memo.clone(),
            },
        )])
    })
    .await?;
    Ok(())
}

fn trace_text(t: &transfer::DenomTrace) -> String {
    if t.path.is_empty() {
        t.base_denom.clone()
    } else {
        format!("{}/{}", t.path, t.base_denom)
    }
}

/// Runs an ICS-20 query.
pub async fn ibc_transfer_query(node: &NodeArgs, cmd: IbcTransferQueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    const Q: &str = "/ibc.applications.transfer.v1.Query/";
    match cmd {
        IbcTransferQueryCmd::DenomTrace { hash } => {
            let r: transfer::QueryDenomTraceResponse = client
                .ask(
                    &format!("{Q}DenomTrace"),
                    &transfer::QueryDenomTraceRequest { hash },
                )
                .await?;
            let t = r.denom_trace.unwrap_or_default();
            print_out(
                out,
                &serde_json::json!({"denom_trace": {"path": t.path, "base_denom": t.base_denom}}),
                &trace_text(&t),
            )?;
        }
        IbcTransferQueryCmd::DenomTraces => {
            let r: transfer::QueryDenomTracesResponse = client
                .ask(
                    &format!("{Q}DenomTraces"),
                    &transfer::QueryDenomTracesRequest {
                        pagination: Some(PageRequest {
                            limit: 1000,
                            ..Default::default()
                        }),
                    },
                )
                .await?;
            let json: Vec<_> = r
                .denom_traces
                .iter()
                .map(|t| serde_json::json!({"path": t.path, "base_denom": t.base_denom}))
                .collect();
            let text = if r.denom_traces.is_empty() {
                "(no denom traces)".to_string()
            } else {
                r.denom_traces
                    .iter()
                    .map(|t| {
                        let full = trace_text(t);
                        format!("ibc/{}  {full}", deai_ibc::transfer::denom_hash(&full))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            print_out(out, &serde_json::json!({ "denom_traces": json }), &text)?;
        }
        IbcTransferQueryCmd::DenomHash { trace } => {
            let r: transfer::QueryDenomHashResponse = client
                .ask(
                    &format!("{Q}DenomHash"),
                    &transfer::QueryDenomHashRequest { trace },
                )
                .await?;
            print_out(out, &serde_json::json!({"hash": r.hash}), &r.hash)?;
        }
        IbcTransferQueryCmd::EscrowAddress { port, channel } => {
            let r: transfer::QueryEscrowAddressResponse = client
                .ask(
                    &format!("{Q}EscrowAddress"),
                    &transfer::QueryEscrowAddressRequest {
                        port_id: port,
                        channel_id: channel,
                    },
                )
                .await?;
            print_out(
                out,
                &serde_json::json!({"escrow_address": r.escrow_address}),
                &r.escrow_address,
            )?;
        }
        IbcTransferQueryCmd::TotalEscrow { denom } => {
            let r: transfer::QueryTotalEscrowForDenomResponse = client
                .ask(
                    &format!("{Q}TotalEscrowForDenom"),
                    &transfer::QueryTotalEscrowForDenomRequest { denom },
                )
                .await?;
            let c = r.amount.unwrap_or_default();
            print_out(
                out,
                &serde_json::json!({"amount": {"denom": c.denom, "amount": c.amount}}),
                &format!("{}{}", c.amount, c.denom),
            )?;
        }
    }
    Ok(())
}
