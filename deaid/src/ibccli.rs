//! `deaid tx ibc-transfer transfer` and `deaid query ibc-transfer …`:
//! ICS-20 token transfers to other chains, with ibc-go's message and
//! queries; `deaid tx ibc-compute send-job | reclaim` and `deaid query
//! ibc-compute …`: compute jobs sent to another DeAI chain, and taking back
//! what is left in a remote account.

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

/// Compute jobs over IBC.
#[derive(Subcommand)]
pub enum IbcComputeTxCmd {
    /// Send a compute job over CHANNEL (port compute) to another DeAI
    /// chain. It is paid there from the --from key's remote account (see
    /// `query ibc-compute remote-account` on that chain; fund it with an
    /// ICS-20 transfer); the result comes back in the acknowledgement
    /// (`query ibc-compute remote-job`).
    SendJob(SendJobArgs),
    /// Take AMOUNT (e.g. 300udeai) out of the remote account that paid for
    /// SENDER's jobs arriving on CHANNEL, into the --from key's account.
    /// SENDER is the address on the other chain (cosmos1…); it must be the
    /// --from key's own (the same 20 bytes). Send it home afterwards with
    /// `tx ibc-transfer transfer`.
    Reclaim {
        /// This chain's channel on port compute the jobs arrived on.
        channel: String,
        /// The jobs' sender on the other chain.
        sender: String,
        /// Coins to move, e.g. 300udeai.
        amount: String,
        /// The key of the same address bytes as SENDER.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// `tx ibc-compute send-job`'s arguments.
#[derive(clap::Args)]
pub struct SendJobArgs {
    /// The channel on port compute, channel-N.
    channel: String,
    /// The workload: gemm-i8 or embed (with --model).
    #[arg(long)]
    kind: String,
    /// The model id on the receiving chain, for embed.
    #[arg(long, default_value = "")]
    model: String,
    /// Read the input bytes from this file.
    #[arg(long, conflicts_with = "input_hex")]
    input_file: Option<std::path::PathBuf>,
    /// The input bytes as hex.
    #[arg(long)]
    input_hex: Option<String>,
    /// How many providers run it.
    #[arg(long, default_value_t = 1)]
    replication: u32,
    /// udeai paid (on the receiving chain) to each provider whose
    /// result is final, e.g. 2000udeai.
    #[arg(long)]
    price: String,
    /// The job must settle within this many of the receiving chain's
    /// blocks after it arrives.
    #[arg(long, default_value_t = 100)]
    deadline_blocks: u64,
    /// The packet times out this many seconds from now if not received.
    #[arg(long, default_value_t = 600)]
    timeout_seconds: u64,
    /// The sender's key.
    #[arg(long)]
    from: String,
    #[command(flatten)]
    flags: TxFlags,
}

/// Compute-over-IBC queries.
#[derive(Subcommand)]
pub enum IbcComputeQueryCmd {
    /// A job this chain sent, as packet SEQUENCE on CHANNEL.
    RemoteJob {
        /// The channel on port compute.
        channel: String,
        /// The packet's sequence.
        sequence: u64,
    },
    /// The account on this chain that pays for jobs SENDER sends over
    /// CHANNEL (this chain's end, port compute).
    RemoteAccount {
        /// This chain's channel on port compute.
        channel: String,
        /// The sender's address on its own chain.
        sender: String,
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

/// `secs` seconds from now, in nanoseconds since 1970 (a packet timeout:
/// the receiving chain compares it with its own block time).
fn seconds_from_now(secs: u64) -> anyhow::Result<u64> {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        + Duration::from_secs(secs);
    u64::try_from(at.as_nanos()).context("--timeout-seconds is too far away")
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
        seconds_from_now(timeout_seconds)?
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

/// Runs a compute-over-IBC transaction command.
pub async fn ibc_compute_tx(home: &Home, cmd: IbcComputeTxCmd) -> anyhow::Result<()> {
    match cmd {
        IbcComputeTxCmd::SendJob(args) => send_job(home, args).await,
        IbcComputeTxCmd::Reclaim {
            channel,
            sender,
            amount,
            from,
            flags,
        } => reclaim(home, channel, sender, &amount, &from, flags).await,
    }
}

/// `tx ibc-compute send-job`: sends a compute job over a channel on port compute.
async fn send_job(home: &Home, args: SendJobArgs) -> anyhow::Result<()> {
    let SendJobArgs {
        channel,
        kind,
        model,
        input_file,
        input_hex,
        replication,
        price,
        deadline_blocks,
        timeout_seconds,
        from,
        flags,
    } = args;
    let input = match (&input_file, &input_hex) {
        (Some(f), None) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        (None, Some(h)) => crate::computecli::parse_hex(h, "--input-hex")?,
        _ => bail!("give the input with --input-file FILE or --input-hex HEX"),
    };
    let price = crate::computecli::parse_udeai(&price, "--price")?.to_string();
    if timeout_seconds == 0 {
        bail!("--timeout-seconds must be positive");
    }
    let timeout_timestamp = seconds_from_now(timeout_seconds)?;
    sign_and_broadcast(home, &from, flags, "send a compute job", |a| {
        Ok(vec![any(
            deai_ibc::msg::SEND_COMPUTE_JOB_TYPE_URL,
            &deai_proto::ibccompute::v1::MsgSendComputeJob {
                sender: a.to_bech32(),
                source_channel: channel.clone(),
                kind: kind.clone(),
                model_id: model.clone(),
                input: input.clone(),
                replication,
                price_per_replica: price.clone(),
                deadline_blocks,
                timeout_revision_number: 0,
                timeout_revision_height: 0,
                timeout_timestamp,
            },
        )])
    })
    .await?;
    Ok(())
}

/// `tx ibc-compute reclaim`: moves AMOUNT out of SENDER's remote account
/// on CHANNEL to the --from key.
async fn reclaim(
    home: &Home,
    channel: String,
    sender: String,
    amount: &str,
    from: &str,
    flags: TxFlags,
) -> anyhow::Result<()> {
    let coins: Vec<cosmos_sdk_proto::cosmos::base::v1beta1::Coin> = Coin::parse_list(amount)
        .context("AMOUNT")?
        .into_iter()
        .map(|c| cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
            amount: c.amount.to_string(),
            denom: c.denom,
        })
        .collect();
    sign_and_broadcast(home, from, flags, "reclaim remote-account funds", |a| {
        if deai_types::Address::from_any_bech32(&sender).ok().as_ref() != Some(a) {
            bail!(
                "{sender} is not the account of {}: only the key that sent the jobs may reclaim them",
                a.to_bech32()
            );
        }
        Ok(vec![any(
            deai_ibc::msg::RECLAIM_REMOTE_FUNDS_TYPE_URL,
            &deai_proto::ibccompute::v1::MsgReclaimRemoteFunds {
                signer: a.to_bech32(),
                channel: channel.clone(),
                sender: sender.clone(),
                amount: coins.clone(),
            },
        )])
    })
    .await?;
    Ok(())
}

/// Runs a compute-over-IBC query.
pub async fn ibc_compute_query(node: &NodeArgs, cmd: IbcComputeQueryCmd) -> anyhow::Result<()> {
    use deai_proto::ibccompute::v1 as pb;
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        IbcComputeQueryCmd::RemoteJob { channel, sequence } => {
            let r: pb::QueryRemoteJobResponse = client
                .ask(
                    "/deai.ibccompute.v1.Query/RemoteJob",
                    &pb::QueryRemoteJobRequest { channel, sequence },
                )
                .await?;
            let j = r.job.unwrap_or_default();
            let status = pb::RemoteJobStatus::try_from(j.status)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("REMOTE_JOB_STATUS_")
                        .to_lowercase()
                })
                .unwrap_or_else(|_| "unknown".into());
            let text = match status.as_str() {
                "done" => format!(
                    "done: job {} {} result {} ({} output bytes here)",
                    j.job_id,
                    j.job_status,
                    j.result_hash,
                    j.output.len()
                ),
                "failed" => format!("failed: {}", j.error),
                other => other.to_string(),
            };
            print_out(
                out,
                &serde_json::json!({
                    "channel": j.channel, "sequence": j.sequence.to_string(), "sender": j.sender,
                    "status": status, "job_id": j.job_id.to_string(), "job_status": j.job_status,
                    "result_hash": j.result_hash, "output_hex": hex::encode(&j.output),
                    "error": j.error,
                }),
                &text,
            )?;
        }
        IbcComputeQueryCmd::RemoteAccount { channel, sender } => {
            let r: pb::QueryRemoteAccountResponse = client
                .ask(
                    "/deai.ibccompute.v1.Query/RemoteAccount",
                    &pb::QueryRemoteAccountRequest {
                        port: deai_ibc::compute::PORT.into(),
                        channel,
                        sender,
                    },
                )
                .await?;
            print_out(out, &serde_json::json!({"account": r.account}), &r.account)?;
        }
    }
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
