//! Signing and broadcasting transactions from the command line: the flags
//! every `deaid tx …` command shares, and the one path that fills in chain
//! id, account number, sequence and gas, asks for confirmation, broadcasts
//! and waits for the block.

use anyhow::{bail, Context};
use base64::Engine;
use cosmos_sdk_proto::Any;
use deai_app::home::Home;
use deai_client::{keyring, send::SignedTx, Gas, NodeClient, TxParams};
use deai_types::{Address, Coin};

use crate::{print_out, KeyringArgs, NodeArgs};

/// Flags shared by every transaction command.
#[derive(clap::Args, Clone)]
pub struct TxFlags {
    /// The chain id (default: asked from the node).
    #[arg(long, env = "DEAI_CHAIN_ID")]
    pub chain_id: Option<String>,
    /// Sign without contacting a node; needs --chain-id, --account-number and --sequence.
    #[arg(long)]
    pub offline: bool,
    /// The signer's account number (default: asked from the node).
    #[arg(long)]
    pub account_number: Option<u64>,
    /// The signer's sequence (default: asked from the node).
    #[arg(long)]
    pub sequence: Option<u64>,
    /// The fee, e.g. 2000udeai (at least 0.01udeai per unit of gas by default).
    #[arg(long, default_value = "2000udeai")]
    pub fees: String,
    /// The gas limit, or `auto` to estimate it with the node's Simulate query.
    #[arg(long, default_value = "200000")]
    pub gas: String,
    /// With --gas auto, multiply the estimate by this (e.g. 1.3).
    #[arg(long, default_value = "1.3")]
    pub gas_adjustment: String,
    /// A memo.
    #[arg(long, default_value = "")]
    pub memo: String,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub keyring: KeyringArgs,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// What a broadcast transaction did: its block, code and events.
pub type Included = deai_client::Landed;

/// Signs `msgs` (built for the signer's address) with key `from`, broadcasts
/// them and waits for the block. `describe` is what the confirmation prompt
/// says. Returns `None` with --offline (the signed tx is printed instead).
pub async fn sign_and_broadcast(
    home: &Home,
    from: &str,
    flags: TxFlags,
    describe: &str,
    msgs: impl FnOnce(&Address) -> anyhow::Result<Vec<Any>>,
) -> anyhow::Result<Option<Included>> {
    let kr = keyring::open(
        &home.0,
        flags.keyring.keyring_backend,
        flags.keyring.keyring_dir.as_deref(),
    )?;
    let fee = match Coin::parse_list(&flags.fees).context("--fees")?.as_slice() {
        [] => None,
        [c] => Some(c.clone()),
        _ => bail!("--fees takes one coin"),
    };
    let gas = Gas::parse(&flags.gas, &flags.gas_adjustment)?;
    let from_addr = kr.show(from)?.address;
    let msgs = msgs(&from_addr)?;
    let (chain_id, account_number, sequence, client) = if flags.offline {
        let (Some(c), Some(a), Some(s)) = (flags.chain_id, flags.account_number, flags.sequence)
        else {
            bail!("--offline needs --chain-id, --account-number and --sequence");
        };
        (c, a, s, None)
    } else {
        let client = NodeClient::new(&flags.node.node)?;
        // Online, the node's chain id is the one that verifies: a different
        // --chain-id would only make a signature the node refuses.
        let node_chain = client.status().await?.0;
        let chain_id = match flags.chain_id {
            Some(c) if c != node_chain => bail!(
                "--chain-id {c:?} does not match the chain id of the node at {}: {node_chain:?} \
                 (drop --chain-id, or point --node at a node of {c:?})",
                flags.node.node
            ),
            _ => node_chain,
        };
        let acc = client
            .account(&from_addr.to_bech32())
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "account {from_addr} not found on the node: it must receive tokens first"
                )
            })?;
        (
            chain_id,
            flags.account_number.unwrap_or(acc.account_number),
            flags.sequence.unwrap_or(acc.sequence),
            Some(client),
        )
    };
    let key = keyring::signer(&kr, from)?;
    let p = TxParams {
        chain_id,
        account_number,
        sequence,
        fee,
        gas_limit: 0,
        memo: flags.memo,
    };
    let tx = match (&client, gas) {
        (Some(client), gas) => client.sign(&key, msgs, p, gas).await?,
        (None, Gas::Fixed(gas_limit)) => SignedTx::new(&key, msgs, TxParams { gas_limit, ..p }),
        (None, Gas::Auto { .. }) => bail!("--gas auto needs a node; give a number with --offline"),
    };
    let (bytes, hash, p) = (&tx.bytes, tx.hash, &tx.params);
    let Some(client) = client else {
        print_out(
            &flags.node.output,
            &serde_json::json!({
                "tx_hex": hex::encode(bytes),
                "tx_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
                "hash": hex::encode_upper(hash),
            }),
            &hex::encode(bytes),
        )?;
        return Ok(None);
    };
    if !flags.yes {
        eprintln!(
            "{describe}, signed by {from} ({from_addr}), fee {}, gas {}",
            p.fee.as_ref().map_or("none".to_string(), |c| c.to_string()),
            p.gas_limit
        );
        if keyring::read_line("'y' to sign and broadcast")? != "y" {
            bail!("not sent");
        }
    }
    let landed = client.send(&tx, std::time::Duration::from_secs(30)).await?;
    let (height, code, log) = (landed.height, landed.code, landed.log.clone());
    print_out(
        &flags.node.output,
        &serde_json::json!({"hash": hex::encode_upper(hash), "height": height.to_string(), "code": code, "log": &log}),
        &format!(
            "tx {} in block {height}: {}",
            hex::encode_upper(hash),
            if code == 0 {
                "ok".to_string()
            } else {
                format!("failed (code {code}): {log}")
            }
        ),
    )?;
    if code != 0 {
        bail!("the tx failed in its block (code {code}): {log}");
    }
    Ok(Some(landed))
}
