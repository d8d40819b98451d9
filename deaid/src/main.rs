//! `deaid`: the DeAI chain node and its command line.

mod computecli;
mod distcli;
mod govcli;
mod ibccli;
mod loadgen;
mod protojson;
mod roundscli;
mod stakingcli;
mod txcli;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use clap::{Parser, Subcommand};
use cosmos_sdk_proto::cosmos::{auth::v1beta1 as auth, bank::v1beta1 as bank};
use deai_app::{abci::Listen, home::Home, App};
use deai_client::{keyring, tx::msg_send, NodeClient};
use deai_genesis::{GenesisDoc, GenesisValidator};
use deai_keys::Backend;
use deai_types::{Address, Coin};

#[derive(Parser)]
#[command(
    name = "deaid",
    version,
    about = "DeAI chain node: an ABCI 2.0 application for CometBFT v0.38"
)]
struct Cli {
    /// Home directory (config/genesis.json, data/).
    #[arg(long, global = true, env = "DEAI_HOME")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing buys nothing
enum Command {
    /// Create a home directory with a fresh genesis file.
    Init {
        /// The chain id.
        #[arg(long, default_value = "deai-local")]
        chain_id: String,
        /// Replace an existing genesis file.
        #[arg(long)]
        overwrite: bool,
    },
    /// Edit or check the genesis file.
    #[command(subcommand)]
    Genesis(GenesisCmd),
    /// Serve ABCI for CometBFT (`cometbft start --proxy_app tcp://127.0.0.1:26658`).
    Start {
        /// Where to listen: tcp://HOST:PORT or unix:///path.
        #[arg(long, default_value = "tcp://127.0.0.1:26658", env = "DEAI_ABCI")]
        abci: Listen,
        /// Keep state and blocks for only this many recent heights (0: keep all).
        #[arg(long, default_value_t = 0)]
        min_retain_blocks: u64,
        /// Take a state-sync snapshot every this many heights (0: none; the
        /// snapshots already taken are still served).
        #[arg(long, default_value_t = 0)]
        snapshot_interval: u64,
        /// How many of the newest snapshots to keep.
        #[arg(long, default_value_t = 2)]
        snapshot_keep_recent: usize,
        #[command(flatten)]
        api: ApiArgs,
        /// The CometBFT RPC this node's gRPC and REST servers use for
        /// blocks, tx lookups and broadcasts.
        #[arg(long, default_value = "http://127.0.0.1:26657")]
        cometbft_rpc: String,
    },
    /// Write a genesis file that holds the state committed at a height, for
    /// a new chain (or a restart after an upgrade) to start from at the
    /// next height. Stop the node that uses this home first.
    Export {
        /// The height to export (default: the last committed).
        #[arg(long)]
        height: Option<u64>,
        /// Write the genesis here instead of to standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Measure throughput.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Manage account keys: BIP-39 mnemonics on the Cosmos HD path m/44'/118'/0'/0/0.
    Keys {
        #[command(flatten)]
        keyring: KeyringArgs,
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Build, sign and broadcast transactions.
    #[command(subcommand)]
    Tx(TxCmd),
    /// Query a node.
    Query {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: QueryCmd,
    },
    /// The node's chain id and latest height.
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Run a single-validator chain in this process (no CometBFT needed).
    /// The first start creates a genesis with three funded test-keyring
    /// accounts (dev0, dev1, dev2) and prints their mnemonics.
    Devnet {
        /// Time between blocks, e.g. 1s or 500ms.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        block_time: std::time::Duration,
        /// The chain id of a new devnet.
        #[arg(long, default_value = "deai-devnet")]
        chain_id: String,
        /// Where the CometBFT-compatible JSON-RPC listens.
        #[arg(long, default_value = "127.0.0.1:26657")]
        rpc_listen: String,
        /// Origins a browser may call the JSON-RPC from, comma-separated
        /// (CometBFT's `cors_allowed_origins`): `*` for any, one `*` inside
        /// an origin for any run of characters. None by default.
        #[arg(long, value_delimiter = ',')]
        cors_allowed_origins: Vec<String>,
        /// Only create the home (keys and genesis) and exit, so the genesis
        /// can be edited (e.g. governance periods) before the first block.
        #[arg(long)]
        init_only: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// Where the Cosmos gRPC and REST servers listen.
#[derive(clap::Args, Debug, Clone)]
struct ApiArgs {
    /// The gRPC server (Cosmos SDK services, with reflection): HOST:PORT, or `off`.
    #[arg(long, default_value = "127.0.0.1:9090")]
    grpc_listen: ListenAddr,
    /// The REST gateway (the SDK's LCD paths, OpenAPI at /swagger/openapi.json): HOST:PORT, or `off`.
    #[arg(long, default_value = "127.0.0.1:1317")]
    rest_listen: ListenAddr,
    /// Browser origins the REST gateway allows, comma-separated (`*` for
    /// any); none by default.
    #[arg(long, value_delimiter = ',')]
    rest_cors_allowed_origins: Vec<String>,
}

/// A server address, or `off`.
#[derive(Debug, Clone, Copy)]
struct ListenAddr(Option<std::net::SocketAddr>);

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        deai_api::parse_listen(s).map(ListenAddr)
    }
}

impl ApiArgs {
    fn listen(&self) -> deai_api::Listen {
        deai_api::Listen {
            grpc: self.grpc_listen.0,
            rest: self.rest_listen.0,
            rest_cors_origins: self.rest_cors_allowed_origins.clone(),
        }
    }
}

/// Parses `500ms`, `2s` or `1m`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: give a number and a unit, e.g. 1s or 500ms"))?;
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "s" | "" => Ok(std::time::Duration::from_secs(n)),
        "m" => Ok(std::time::Duration::from_secs(n.saturating_mul(60))),
        other => Err(format!("{other:?}: use ms, s or m")),
    }
}

#[derive(clap::Args, Clone)]
struct KeyringArgs {
    /// `file` (passphrase-encrypted) or `test` (unencrypted, for scripts only).
    #[arg(
        long,
        default_value = "file",
        env = "DEAI_KEYRING_BACKEND",
        global = true
    )]
    keyring_backend: Backend,
    /// Keyring directory (default: <home>/keyring-<backend>).
    #[arg(long, env = "DEAI_KEYRING_DIR", global = true)]
    keyring_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create a key from a new 24-word mnemonic and print the mnemonic once.
    Add {
        /// The key's name.
        name: String,
    },
    /// Recover a key from a mnemonic read from standard input.
    Recover {
        /// The key's name.
        name: String,
    },
    /// List keys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one key.
    Show {
        /// The key's name.
        name: String,
        /// Print only the address.
        #[arg(long)]
        address: bool,
    },
    /// Print a key encrypted under an export passphrase (read from standard input).
    Export {
        /// The key's name.
        name: String,
    },
    /// Import a key exported by `keys export` from FILE.
    Import {
        /// The new name.
        name: String,
        /// The exported text.
        file: PathBuf,
    },
    /// Delete a key.
    Delete {
        /// The key's name.
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum TxCmd {
    /// Bank transactions.
    #[command(subcommand)]
    Bank(BankTxCmd),
    /// Governance: proposals, deposits, votes, delegation.
    #[command(subcommand)]
    Gov(govcli::GovTxCmd),
    /// The DAO treasury.
    #[command(subcommand)]
    Treasury(govcli::TreasuryTxCmd),
    /// The compute market: providers, bonds, jobs, commit and reveal.
    #[command(subcommand)]
    Compute(computecli::ComputeTxCmd),
    /// Staking: validators, delegation, unbonding, redelegation.
    #[command(subcommand)]
    Staking(stakingcli::StakingTxCmd),
    /// Slashing: unjail a validator.
    #[command(subcommand)]
    Slashing(stakingcli::SlashingTxCmd),
    /// Distribution: withdraw rewards and commission, set a withdraw address.
    #[command(subcommand)]
    Distribution(distcli::DistributionTxCmd),
    /// IBC token transfers (ICS-20) to other chains.
    #[command(subcommand)]
    IbcTransfer(ibccli::IbcTransferTxCmd),
    /// Compute jobs sent over IBC to another DeAI chain.
    #[command(subcommand)]
    IbcCompute(ibccli::IbcComputeTxCmd),
}

#[derive(Subcommand)]
enum BankTxCmd {
    /// Send coins: signs a MsgSend with a keyring key, then broadcasts it and
    /// waits for its block (or, with --offline, prints the signed tx as hex).
    #[command(override_usage = "deaid tx bank send [FROM] TO AMOUNT [--from FROM] [OPTIONS]")]
    Send {
        /// `FROM TO AMOUNT` (the Cosmos SDK's order), or `TO AMOUNT` with
        /// `--from`. FROM is a key name; TO a deai1… address; AMOUNT coins
        /// such as 1000udeai.
        #[arg(num_args = 2..=3, required = true, value_name = "ARGS")]
        args: Vec<String>,
        /// Name of the sending key (instead of the first argument).
        #[arg(long)]
        from: Option<String>,
        #[command(flatten)]
        flags: txcli::TxFlags,
    },
}

#[derive(clap::Args, Clone)]
struct NodeArgs {
    /// The node's CometBFT RPC address.
    #[arg(
        long,
        default_value = "http://127.0.0.1:26657",
        env = "DEAI_NODE",
        global = true
    )]
    node: String,
    /// `text` or `json`. Checked before anything runs, so a typo cannot
    /// fail a command after its tx was broadcast.
    #[arg(long, default_value = "text", global = true, value_parser = ["text", "json"])]
    output: String,
}

#[derive(Subcommand)]
enum QueryCmd {
    /// Bank queries.
    #[command(subcommand)]
    Bank(BankQueryCmd),
    /// Governance queries.
    #[command(subcommand)]
    Gov(govcli::GovQueryCmd),
    /// Treasury queries.
    #[command(subcommand)]
    Treasury(govcli::TreasuryQueryCmd),
    /// Compute-market queries: jobs, results, providers, models, params.
    #[command(subcommand)]
    Compute(computecli::ComputeQueryCmd),
    /// Staking queries: validators, delegations, unbondings, pool, params.
    #[command(subcommand)]
    Staking(stakingcli::StakingQueryCmd),
    /// Slashing queries: signing records, params.
    #[command(subcommand)]
    Slashing(stakingcli::SlashingQueryCmd),
    /// Distribution queries: rewards, commission, community pool, params.
    #[command(subcommand)]
    Distribution(distcli::DistributionQueryCmd),
    /// Mint queries: inflation, annual provisions, params.
    #[command(subcommand)]
    Mint(distcli::MintQueryCmd),
    /// Private data rounds and the lineage of the model versions they made.
    #[command(subcommand)]
    Rounds(roundscli::RoundsQueryCmd),
    /// IBC token transfer queries: denom traces, escrow.
    #[command(subcommand)]
    IbcTransfer(ibccli::IbcTransferQueryCmd),
    /// Compute over IBC: jobs sent, remote accounts.
    #[command(subcommand)]
    IbcCompute(ibccli::IbcComputeQueryCmd),
    /// An account's number, sequence and public key.
    Account {
        /// A deai1… address.
        address: Address,
    },
    /// A transaction by its hash, once it is in a block.
    Tx {
        /// The hex hash.
        hash: String,
    },
    /// A block (default: the latest).
    Block {
        /// The height.
        height: Option<u64>,
    },
}

#[derive(Subcommand)]
enum BankQueryCmd {
    /// All balances of an address.
    Balances {
        /// A deai1… address.
        address: Address,
    },
    /// The total supply of every denom.
    Total,
}

#[derive(Subcommand)]
enum GenesisCmd {
    /// Give an address an opening balance (and an account).
    AddAccount {
        /// A deai1… address.
        address: Address,
        /// Coins, e.g. 1000000udeai or 5udeai,7uother.
        coins: String,
    },
    /// Name a validator in genesis.
    AddValidator {
        /// A name for it.
        #[arg(long)]
        name: String,
        /// Its ed25519 public key, base64.
        #[arg(long, conflicts_with = "cometbft_key")]
        pub_key: Option<String>,
        /// Read the key from CometBFT's priv_validator_key.json.
        #[arg(long)]
        cometbft_key: Option<PathBuf>,
        /// Voting power.
        #[arg(long, default_value_t = 10)]
        power: u64,
    },
    /// Sign a genesis transaction that makes KEY's account a validator with
    /// its first self-delegation (written to config/gentx/, for
    /// `collect-gentxs`). KEY's account must hold the amount in genesis.
    Gentx {
        /// The operator's key.
        key: String,
        /// The self-delegation, e.g. 10000000udeai (10 units of power).
        #[arg(long)]
        amount: String,
        /// The consensus public key: ed25519, base64.
        #[arg(
            long,
            conflicts_with = "cometbft_key",
            required_unless_present = "cometbft_key"
        )]
        pubkey: Option<String>,
        /// Read the consensus key from CometBFT's priv_validator_key.json.
        #[arg(long)]
        cometbft_key: Option<PathBuf>,
        /// The validator's name (default: KEY).
        #[arg(long)]
        moniker: Option<String>,
        /// The commission rate, e.g. 0.10.
        #[arg(long, default_value = "0.10")]
        commission_rate: String,
        /// The most the rate may ever be.
        #[arg(long, default_value = "0.20")]
        commission_max_rate: String,
        /// The most the rate may change in a day.
        #[arg(long, default_value = "0.01")]
        commission_max_change_rate: String,
        /// The least self-delegation the operator promises to keep (udeai).
        #[arg(long, default_value = "1")]
        min_self_delegation: String,
        /// Where to write it (default: config/gentx/gentx-KEY.json).
        #[arg(long)]
        output_document: Option<PathBuf>,
        #[command(flatten)]
        keyring: KeyringArgs,
    },
    /// Put every genesis transaction of config/gentx/ (or --gentx-dir) into
    /// the genesis file, then check that InitChain accepts it.
    CollectGentxs {
        /// The directory of gentx-*.json files.
        #[arg(long)]
        gentx_dir: Option<PathBuf>,
    },
    /// Set one module parameter in genesis, e.g. `gov voting_period_blocks 20`
    /// (the value is JSON; a bare word is taken as a string).
    SetParam {
        /// auth, bank, gov, treasury or compute.
        module: String,
        /// The parameter's name, as `query <module> params` shows it.
        name: String,
        /// The new value, e.g. 20, "1000", or [{"denom":"udeai","amount":"1000"}].
        value: String,
    },
    /// Check a genesis file and print a summary.
    Validate {
        /// The file (default: the home's).
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Empty-block time as the history of used-up queue entries grows.
    Queues {
        /// Used-up entries per queue, one row each (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "0,1000,10000,100000")]
        history: Vec<usize>,
        /// Empty blocks timed per row.
        #[arg(long, default_value_t = 200)]
        blocks: u64,
    },
    /// Sustained signed-transfer throughput through running nodes' RPC
    /// (a real CometBFT network or the devnet), with broadcast-to-commit latency.
    Load {
        #[command(flatten)]
        args: loadgen::LoadArgs,
        #[command(flatten)]
        keyring: KeyringArgs,
    },
    /// State sync: snapshot a state of N accounts and restore it on an empty node.
    Statesync {
        /// Funded accounts in the state.
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
    },
    /// Signed MsgSend throughput: CheckTx, and FinalizeBlock + Commit, beside
    /// a two-thread verification of the same block's signatures.
    Transfers {
        /// Transactions in the block.
        #[arg(long, default_value_t = 10_000)]
        txs: usize,
        /// Distinct signing accounts in the block (`--accounts` is an alias).
        #[arg(long, alias = "accounts", default_value_t = 1_000)]
        senders: usize,
        /// Other funded accounts already in state before the block (written
        /// directly, not by transactions), so the tree holds that many more.
        #[arg(long, default_value_t = 0)]
        state_accounts: usize,
    },
}

/// Runs the command; an error is printed as one line (its causes joined
/// with `: `), never with a backtrace, whatever `RUST_BACKTRACE` says.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let home = Home::new(&cli.home.clone().unwrap_or_else(Home::default_dir));
    match cli.command {
        Command::Init {
            chain_id,
            overwrite,
        } => init(&home, &chain_id, overwrite),
        Command::Genesis(cmd) => genesis(&home, cmd),
        Command::Start {
            abci,
            min_retain_blocks,
            snapshot_interval,
            snapshot_keep_recent,
            api,
            cometbft_rpc,
        } => start(
            &home,
            abci,
            min_retain_blocks,
            snapshot_interval,
            snapshot_keep_recent,
            (api.listen(), &cometbft_rpc),
        ),
        Command::Keys { keyring, cmd } => keys(&home, &keyring, cmd),
        Command::Export { height, output } => export(&home, height, output.as_deref()),
        Command::Devnet {
            block_time,
            chain_id,
            rpc_listen,
            cors_allowed_origins,
            init_only,
            api,
        } => {
            if init_only {
                let devnet_home = deai_devnet::DevnetHome(home.0.clone());
                if devnet_home.genesis().exists() {
                    bail!(
                        "{} exists already; remove the home to start over",
                        devnet_home.genesis().display()
                    );
                }
                let time = deai_devnet::chain::now_after(tendermint::Time::unix_epoch())?;
                let accounts =
                    deai_devnet::home::ensure_genesis(&devnet_home, &chain_id, &time.to_rfc3339())?;
                for a in &accounts {
                    println!("{}: {}\n  mnemonic: {}", a.name, a.address, a.mnemonic);
                }
                println!(
                    "edit {} if you like, then run `deaid devnet`",
                    devnet_home.genesis().display()
                );
                return Ok(());
            }
            if block_time.is_zero() {
                bail!("--block-time must be positive");
            }
            let mut cfg = deai_devnet::DevnetConfig::new(home.0.clone());
            cfg.block_time = block_time;
            cfg.chain_id = chain_id;
            cfg.rpc_listen = rpc_listen;
            cfg.rpc_limits.cors_allowed_origins = cors_allowed_origins;
            cfg.api = api.listen();
            deai_devnet::start(&cfg)
        }
        Command::Tx(TxCmd::Bank(send)) => runtime()?.block_on(bank_send(&home, send)),
        Command::Tx(TxCmd::Gov(cmd)) => runtime()?.block_on(govcli::gov_tx(&home, cmd)),
        Command::Tx(TxCmd::Treasury(cmd)) => runtime()?.block_on(govcli::treasury_tx(&home, cmd)),
        Command::Tx(TxCmd::Compute(cmd)) => runtime()?.block_on(computecli::compute_tx(&home, cmd)),
        Command::Tx(TxCmd::Staking(cmd)) => runtime()?.block_on(stakingcli::staking_tx(&home, cmd)),
        Command::Tx(TxCmd::Slashing(cmd)) => {
            runtime()?.block_on(stakingcli::slashing_tx(&home, cmd))
        }
        Command::Tx(TxCmd::Distribution(cmd)) => {
            runtime()?.block_on(distcli::distribution_tx(&home, cmd))
        }
        Command::Tx(TxCmd::IbcTransfer(cmd)) => {
            runtime()?.block_on(ibccli::ibc_transfer_tx(&home, cmd))
        }
        Command::Tx(TxCmd::IbcCompute(cmd)) => {
            runtime()?.block_on(ibccli::ibc_compute_tx(&home, cmd))
        }
        Command::Query { node, cmd } => runtime()?.block_on(query(&node, cmd)),
        Command::Status { node } => runtime()?.block_on(async {
            let (chain_id, height) = NodeClient::new(&node.node)?.status().await?;
            print_out(
                &node.output,
                &serde_json::json!({"chain_id": chain_id, "latest_block_height": height}),
                &format!("chain {chain_id} at height {height}"),
            )
        }),
        Command::Bench(BenchCmd::Queues { history, blocks }) => {
            let rows = deai_app::bench::queue_history(&history, blocks)?;
            let base = rows.first().map_or(1, |r| r.empty_block.as_nanos().max(1));
            println!(
                "empty FinalizeBlock + Commit after N used-up queue entries (compute settlements and gov deposit ends each), {blocks} blocks per row"
            );
            for r in &rows {
                println!(
                    "N = {:>7}: {:>7} µs per empty block ({}.{:02}× the first row; drained in {} blocks)",
                    r.used_up,
                    r.empty_block.as_micros(),
                    r.empty_block.as_nanos() / base,
                    r.empty_block.as_nanos() * 100 / base % 100,
                    r.drain_blocks
                );
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Load { args, keyring }) => {
            runtime()?.block_on(loadgen::run(&home, &keyring, args))
        }
        Command::Bench(BenchCmd::Statesync { accounts }) => {
            let r = deai_app::bench::statesync(accounts)?;
            println!(
                "state sync of {} accounts: {} chunks, {} bytes ({} KiB)",
                r.accounts,
                r.chunks,
                r.bytes,
                r.bytes / 1024
            );
            println!("take the snapshot: {} ms", r.take.as_millis());
            println!(
                "restore on an empty node (every chunk checked, root checked, one commit): {} ms",
                r.restore.as_millis()
            );
            Ok(())
        }
        Command::Bench(BenchCmd::Transfers {
            txs,
            senders,
            state_accounts,
        }) => {
            use deai_app::bench::per_second;
            let r = deai_app::bench::transfers(deai_app::bench::TransferConfig {
                txs,
                senders,
                state_accounts,
            })?;
            println!(
                "transfers: {txs} signed MsgSend txs from {senders} senders; {state_accounts} other accounts in state (written in {} ms)",
                r.build_state.as_millis()
            );
            let verify = per_second(txs, r.verify);
            let block = per_second(txs, r.finalize + r.commit);
            println!(
                "verify signatures:      {verify:>8} tx/s  ({} ms on {} threads)",
                r.verify.as_millis(),
                r.verify_threads
            );
            println!(
                "CheckTx:                {:>8} tx/s  ({} ms)",
                per_second(txs, r.check_tx),
                r.check_tx.as_millis()
            );
            println!(
                "FinalizeBlock + Commit: {block:>8} tx/s  (finalize {} ms, commit {} ms, {} cores)",
                r.finalize.as_millis(),
                r.commit.as_millis(),
                rayon_threads()
            );
            println!(
                "FinalizeBlock + Commit / verify: {}.{:02} (FinalizeBlock takes the signatures this node's CheckTx verified as verified)",
                block / verify.max(1),
                block * 100 / verify.max(1) % 100
            );
            let unseen = per_second(txs, r.finalize_unseen + r.commit);
            println!(
                "on a node that never saw the txs: {unseen} tx/s (finalize {} ms, verifying every signature), / verify: {}.{:02}",
                r.finalize_unseen.as_millis(),
                unseen / verify.max(1),
                unseen * 100 / verify.max(1) % 100
            );
            if let Some(cpu) = r.cpu {
                // Per CPU-second: steadier than the wall clock on a shared machine.
                let verify = per_second(txs, cpu.verify);
                let block = per_second(txs, cpu.finalize + cpu.commit);
                println!(
                    "CPU time: verify {} ms, finalize {} ms, commit {} ms; per CPU-second: verify {verify} tx/s, FinalizeBlock + Commit {block} tx/s, ratio {}.{:02}",
                    cpu.verify.as_millis(),
                    cpu.finalize.as_millis(),
                    cpu.commit.as_millis(),
                    block / verify.max(1),
                    block * 100 / verify.max(1) % 100
                );
            }
            Ok(())
        }
    }
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn now_rfc3339() -> String {
    // Genesis time is informational for the app; CometBFT parses it.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    tendermint::Time::from_unix_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

fn init(home: &Home, chain_id: &str, overwrite: bool) -> anyhow::Result<()> {
    let path = home.genesis();
    if path.exists() && !overwrite {
        bail!(
            "{} already exists; pass --overwrite to replace it",
            path.display()
        );
    }
    std::fs::create_dir_all(home.config_dir())
        .with_context(|| format!("creating {}", home.config_dir().display()))?;
    let mut doc = GenesisDoc::new(chain_id, &now_rfc3339())?;
    doc.app_state = deai_app::modules::default_app_state();
    doc.save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn export(
    home: &Home,
    height: Option<u64>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let state_dir = home.state_dir();
    if !state_dir.is_dir() {
        bail!(
            "{} does not exist: this home has no state to export",
            state_dir.display()
        );
    }
    let mut doc = GenesisDoc::load(&home.genesis())?;
    let app =
        App::open(&state_dir).context("is a node still running on this home? stop it first")?;
    if let Some(chain) = app.chain() {
        if chain.chain_id != doc.chain_id {
            bail!(
                "the state is of chain {:?} but {} names {:?}",
                chain.chain_id,
                home.genesis().display(),
                doc.chain_id
            );
        }
    }
    let (exported, validators) = app.export(height)?;
    let height: u64 = exported.height.parse()?;
    doc.initial_height = (height + 1).to_string();
    doc.app_hash = String::new();
    doc.app_state = deai_genesis::AppState {
        validators,
        exported: Some(exported),
        ..Default::default()
    };
    match output {
        Some(path) => {
            doc.save(path)?;
            eprintln!(
                "wrote {}: the state of height {height}; a chain started from it begins at height {}",
                path.display(),
                height + 1
            );
        }
        None => {
            doc.validate()?;
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(())
}

fn genesis(home: &Home, cmd: GenesisCmd) -> anyhow::Result<()> {
    let path = home.genesis();
    match cmd {
        GenesisCmd::AddAccount { address, coins } => {
            let coins = Coin::parse_list(&coins).context("coins")?;
            let mut doc = load(&path)?;
            doc.app_state.add_account(address, &coins)?;
            doc.save(&path)?;
            println!(
                "added {address} with {}",
                deai_bank::event::coins_string(&coins)
            );
        }
        GenesisCmd::AddValidator {
            name,
            pub_key,
            cometbft_key,
            power,
        } => {
            let pub_key = match (pub_key, cometbft_key) {
                (Some(k), None) => k,
                (None, Some(file)) => read_cometbft_key(&file)?,
                _ => bail!("give --pub-key BASE64 or --cometbft-key FILE"),
            };
            let mut doc = load(&path)?;
            doc.app_state.validators.push(GenesisValidator {
                name: name.clone(),
                pub_key,
                power,
            });
            doc.save(&path)?;
            println!("added validator {name} with power {power}");
        }
        GenesisCmd::SetParam {
            module,
            name,
            value,
        } => {
            let mut doc = load(&path)?;
            let mut state = serde_json::to_value(&doc.app_state)?;
            let params = state
                .get_mut(&module)
                .and_then(|m| m.get_mut("params"))
                .and_then(serde_json::Value::as_object_mut)
                .ok_or_else(|| {
                    anyhow!("no module {module:?} with params (auth, bank, gov, treasury, compute, staking, slashing)")
                })?;
            let Some(slot) = params.get_mut(&name) else {
                let known: Vec<&str> = params.keys().map(String::as_str).collect();
                bail!(
                    "{module} has no param {name:?}; it has {}",
                    known.join(", ")
                );
            };
            *slot = serde_json::from_str(&value)
                .unwrap_or_else(|_| serde_json::Value::String(value.clone()));
            let bytes = serde_json::to_vec(&state)?;
            doc.app_state = deai_genesis::AppState::from_json(&bytes)
                .and_then(|s| s.check_sections(deai_app::modules::MODULES).map(|()| s))
                .with_context(|| format!("{module}.{name} = {value}"))?;
            doc.save(&path)?;
            println!("set {module}.{name} = {value}");
        }
        GenesisCmd::Validate { file } => {
            let file = file.unwrap_or(path);
            validate_genesis_file(&file)?;
        }
        GenesisCmd::Gentx {
            key,
            amount,
            pubkey,
            cometbft_key,
            moniker,
            commission_rate,
            commission_max_rate,
            commission_max_change_rate,
            min_self_delegation,
            output_document,
            keyring: kargs,
        } => {
            let doc = load(&path)?;
            let kr = keyring::open(&home.0, kargs.keyring_backend, kargs.keyring_dir.as_deref())?;
            let addr = kr.show(&key)?.address;
            let value = Coin::parse_list(&amount).context("--amount")?;
            let [value] = value.as_slice() else {
                bail!("--amount must be one amount, e.g. 10000000udeai");
            };
            let held = doc
                .app_state
                .bank
                .balances
                .iter()
                .find(|b| b.address == addr)
                .and_then(|b| b.coins.iter().find(|c| c.denom == value.denom))
                .map_or(0, |c| c.amount);
            if held < value.amount {
                bail!(
                    "{key} ({addr}) holds {held}{} in genesis, less than the {value} to stake: `deaid genesis add-account {addr} {value}` first",
                    value.denom
                );
            }
            let msg = stakingcli::create_validator_msg(stakingcli::NewValidator {
                operator: addr,
                amount: value.clone(),
                pubkey: stakingcli::pubkey(pubkey, cometbft_key)?,
                description: cosmos_sdk_proto::cosmos::staking::v1beta1::Description {
                    moniker: moniker.unwrap_or_else(|| key.clone()),
                    ..Default::default()
                },
                commission: [
                    commission_rate,
                    commission_max_rate,
                    commission_max_change_rate,
                ],
                min_self_delegation,
            })?;
            let signer = keyring::signer(&kr, &key)?;
            let bytes = deai_client::tx::sign_tx(
                &signer,
                vec![deai_client::tx::any(
                    deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL,
                    &msg,
                )],
                &deai_client::tx::TxParams {
                    chain_id: doc.chain_id.clone(),
                    account_number: 0,
                    sequence: 0,
                    fee: None,
                    gas_limit: 400_000,
                    memo: String::new(),
                },
            );
            let json = protojson::tx_json(&bytes)?;
            let out = match output_document {
                Some(p) => p,
                None => {
                    let dir = home.config_dir().join("gentx");
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    dir.join(format!("gentx-{key}.json"))
                }
            };
            std::fs::write(&out, serde_json::to_vec_pretty(&json)?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        GenesisCmd::CollectGentxs { gentx_dir } => {
            let dir = gentx_dir.unwrap_or_else(|| home.config_dir().join("gentx"));
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            if files.is_empty() {
                bail!(
                    "{} holds no gentx .json files (`deaid genesis gentx` writes them)",
                    dir.display()
                );
            }
            let mut gen_txs = Vec::with_capacity(files.len());
            for f in &files {
                let v: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
                )
                .with_context(|| format!("{} is not JSON", f.display()))?;
                deai_genesis::gentx_bytes(&v).with_context(|| f.display().to_string())?;
                gen_txs.push(v);
            }
            let mut doc = load(&path)?;
            if !doc.app_state.validators.is_empty() {
                bail!(
                    "{} already names fixed validators (add-validator): a chain starts from those or from genesis transactions, not both",
                    path.display()
                );
            }
            doc.app_state.genutil.gen_txs = gen_txs;
            doc.save(&path)?;
            println!(
                "collected {} genesis transactions into {}",
                files.len(),
                path.display()
            );
            validate_genesis_file(&path)?;
        }
    }
    Ok(())
}

/// Checks a genesis file as InitChain will take it, by running InitChain
/// on a scratch state: every module's section, and every genesis
/// transaction through the signature checks and the staking module.
fn validate_genesis_file(file: &std::path::Path) -> anyhow::Result<()> {
    let doc = load(file)?;
    // CometBFT refuses, at its handshake, a chain whose genesis and
    // InitChain both name no validator: say so before it gets there.
    if doc.validators.is_empty()
        && doc.app_state.validators.is_empty()
        && doc.app_state.genutil.gen_txs.is_empty()
    {
        anyhow::bail!(
            "{} names no validator, which CometBFT refuses at its handshake: add genesis \
             transactions (`deaid genesis gentx KEY --amount 10000000udeai --cometbft-key \
             ~/.cometbft/config/priv_validator_key.json`, then `deaid genesis collect-gentxs`)",
            file.display()
        );
    }
    let raw: serde_json::Value = serde_json::from_slice(
        &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
    )
    .with_context(|| format!("{} is not JSON", file.display()))?;
    let app_state = serde_json::to_vec(&raw["app_state"])?;
    let scratch = std::env::temp_dir().join(format!("deaid-validate-{}", std::process::id()));
    let result = App::open(&scratch)
        .and_then(|mut app| app.init_chain(&doc.chain_id, doc.initial_height()?, &app_state));
    std::fs::remove_dir_all(&scratch).ok();
    let (_, validators) =
        result.with_context(|| format!("{} would fail at InitChain", file.display()))?;
    println!(
        "{} is valid: chain {}, {} accounts, {} balances, {} validators{}",
        file.display(),
        doc.chain_id,
        doc.app_state.auth.accounts.len(),
        doc.app_state.bank.balances.len(),
        validators.len().max(doc.validators.len()),
        if doc.app_state.genutil.gen_txs.is_empty() {
            String::new()
        } else {
            format!(
                " (from {} genesis transactions)",
                doc.app_state.genutil.gen_txs.len()
            )
        }
    );
    Ok(())
}

fn load(path: &std::path::Path) -> anyhow::Result<GenesisDoc> {
    let doc = GenesisDoc::load(path).with_context(|| {
        format!(
            "reading genesis {} (run `deaid init` first?)",
            path.display()
        )
    })?;
    doc.app_state
        .check_sections(deai_app::modules::MODULES)
        .with_context(|| format!("genesis {}", path.display()))?;
    Ok(doc)
}

fn read_cometbft_key(file: &std::path::Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let key = v
        .pointer("/pub_key/value")
        .and_then(|k| k.as_str())
        .with_context(|| format!("{} has no pub_key.value", file.display()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .context("pub_key.value is not base64")?;
    if bytes.len() != 32 {
        bail!("pub_key.value must be a 32-byte ed25519 key");
    }
    Ok(key.to_string())
}

fn start(
    home: &Home,
    abci: Listen,
    min_retain_blocks: u64,
    snapshot_interval: u64,
    snapshot_keep_recent: usize,
    (api_listen, cometbft_rpc): (deai_api::Listen, &str),
) -> anyhow::Result<()> {
    if snapshot_interval > 0 && min_retain_blocks > 0 && snapshot_interval > min_retain_blocks {
        bail!(
            "--snapshot-interval {snapshot_interval} is longer than --min-retain-blocks {min_retain_blocks}: a snapshot's height could be pruned while peers still fetch it"
        );
    }
    let mut app = App::open(&home.state_dir())?;
    app.set_min_retain_blocks(min_retain_blocks);
    let snapshots = std::sync::Arc::new(deai_app::statesync::SnapshotStore::new(
        home.snapshot_dir(),
        snapshot_interval,
        snapshot_keep_recent,
    )?);
    app.set_snapshots(snapshots.clone());
    let api = std::sync::Arc::new(deai_api::Api::new(app.querier(), cometbft_rpc)?);
    let app = std::sync::Arc::new(std::sync::Mutex::new(app));
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let servers = rt.block_on(deai_api::start(api, api_listen))?;
    if let Some(a) = servers.grpc {
        tracing::info!("gRPC on {a}");
    }
    if let Some(a) = servers.rest {
        tracing::info!("REST on http://{a}");
    }
    tracing::info!(?abci, snapshot_interval, "serving ABCI");
    let served = rt.block_on(deai_app::abci::serve(app, abci, Some(snapshots)));
    // Do not wait for requests still held on the blocking pool (a refused
    // Info holds its answer back until the process exits).
    rt.shutdown_background();
    served
}

fn keys(home: &Home, args: &KeyringArgs, cmd: KeysCmd) -> anyhow::Result<()> {
    let kr = keyring::open(&home.0, args.keyring_backend, args.keyring_dir.as_deref())?;
    match cmd {
        KeysCmd::Add { name } => {
            let pass = keyring::passphrase(&kr)?;
            let (info, mnemonic) = kr.add(&name, pass.as_deref())?;
            println!("{}", keyring::render(&[info], false)?);
            eprintln!(
                "\nWrite this mnemonic down and keep it safe. It is the only way to recover the key:\n"
            );
            println!("{mnemonic}");
        }
        KeysCmd::Recover { name } => {
            let mnemonic = keyring::read_secret("the mnemonic")?;
            let pass = keyring::passphrase(&kr)?;
            let info = kr.recover(&name, &mnemonic, pass.as_deref())?;
            println!("{}", keyring::render(&[info], false)?);
        }
        KeysCmd::List { json } => println!("{}", keyring::render(&kr.list()?, json)?),
        KeysCmd::Show { name, address } => {
            let info = kr.show(&name)?;
            if address {
                println!("{}", info.address);
            } else {
                println!("{}", keyring::render(&[info], true)?);
            }
        }
        KeysCmd::Export { name } => {
            let pass = keyring::passphrase(&kr)?;
            let export_pass = keyring::read_secret("a passphrase to encrypt the export")?;
            println!("{}", kr.export(&name, pass.as_deref(), &export_pass)?);
        }
        KeysCmd::Import { name, file } => {
            let armored = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let export_pass = keyring::read_secret("the export's passphrase")?;
            let pass = keyring::passphrase(&kr)?;
            let info = kr.import(&name, &armored, &export_pass, pass.as_deref())?;
            println!("{}", keyring::render(&[info], false)?);
        }
        KeysCmd::Delete { name, yes } => {
            if !yes {
                let answer = keyring::read_line(&format!("'y' to delete key {name:?}"))?;
                if answer != "y" {
                    bail!("not deleted");
                }
            }
            kr.delete(&name)?;
            println!("deleted {name}");
        }
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

fn print_out(output: &str, json: &serde_json::Value, text: &str) -> anyhow::Result<()> {
    match output {
        "json" => println!("{}", serde_json::to_string_pretty(json)?),
        "text" => println!("{text}"),
        other => bail!("--output must be text or json, got {other:?}"),
    }
    Ok(())
}

fn coins_text(coins: &[cosmos_sdk_proto::cosmos::base::v1beta1::Coin]) -> String {
    if coins.is_empty() {
        return "(none)".to_string();
    }
    coins
        .iter()
        .map(|c| format!("{}{}", c.amount, c.denom))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn query(node: &NodeArgs, cmd: QueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    match cmd {
        QueryCmd::Gov(cmd) => govcli::gov_query(node, cmd).await,
        QueryCmd::Treasury(cmd) => govcli::treasury_query(node, cmd).await,
        QueryCmd::Compute(cmd) => computecli::compute_query(node, cmd).await,
        QueryCmd::Staking(cmd) => stakingcli::staking_query(node, cmd).await,
        QueryCmd::Slashing(cmd) => stakingcli::slashing_query(node, cmd).await,
        QueryCmd::Distribution(cmd) => distcli::distribution_query(node, cmd).await,
        QueryCmd::IbcTransfer(cmd) => ibccli::ibc_transfer_query(node, cmd).await,
        QueryCmd::IbcCompute(cmd) => ibccli::ibc_compute_query(node, cmd).await,
        QueryCmd::Mint(cmd) => distcli::mint_query(node, cmd).await,
        QueryCmd::Rounds(cmd) => roundscli::rounds_query(node, cmd).await,
        QueryCmd::Bank(BankQueryCmd::Balances { address }) => {
            let r: protojson::Answer<bank::QueryAllBalancesResponse> = protojson::ask(
                &client,
                "/cosmos.bank.v1beta1.Query/AllBalances",
                &bank::QueryAllBalancesRequest {
                    address: address.to_bech32(),
                    ..Default::default()
                },
            )
            .await?;
            r.print(&node.output, &coins_text(&r.msg.balances))
        }
        QueryCmd::Bank(BankQueryCmd::Total) => {
            let r: protojson::Answer<bank::QueryTotalSupplyResponse> = protojson::ask(
                &client,
                "/cosmos.bank.v1beta1.Query/TotalSupply",
                &bank::QueryTotalSupplyRequest::default(),
            )
            .await?;
            r.print(&node.output, &coins_text(&r.msg.supply))
        }
        QueryCmd::Account { address } => {
            let r: protojson::Answer<auth::QueryAccountResponse> = match protojson::ask(
                &client,
                "/cosmos.auth.v1beta1.Query/Account",
                &auth::QueryAccountRequest {
                    address: address.to_bech32(),
                },
            )
            .await
            {
                Err(e) if e.to_string().contains("NotFound") => {
                    bail!("account {address} not found: it has never received tokens")
                }
                r => r?,
            };
            let any = r
                .msg
                .account
                .as_ref()
                .ok_or_else(|| anyhow!("the node returned an empty account"))?;
            use prost::Message as _;
            let (acc, module) = match any.type_url.as_str() {
                deai_auth::query::MODULE_ACCOUNT_TYPE_URL => {
                    let m = auth::ModuleAccount::decode(any.value.as_slice())
                        .context("decoding the module account")?;
                    (m.base_account.unwrap_or_default(), Some(m.name))
                }
                _ => (
                    auth::BaseAccount::decode(any.value.as_slice())
                        .context("decoding the account")?,
                    None,
                ),
            };
            let mut text = format!(
                "{}  account_number {}  sequence {}",
                acc.address, acc.account_number, acc.sequence
            );
            if let Some(name) = module {
                text.push_str(&format!("  (module account {name})"));
            }
            r.print(&node.output, &text)
        }
        QueryCmd::Tx { hash } => {
            let bytes: [u8; 32] = hex::decode(hash.trim_start_matches("0x"))
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| anyhow::anyhow!("{hash:?} is not a 32-byte hex tx hash"))?;
            use tendermint_rpc::Client as _;
            let r = client
                .rpc()
                .tx(tendermint::Hash::Sha256(bytes), false)
                .await
                .with_context(|| format!("tx {hash} not found (not yet in a block, or unknown)"))?;
            print_out(
                &node.output,
                &serde_json::to_value(&r)?,
                &format!(
                    "height {}  index {}  code {}  gas {}/{}  {}",
                    r.height,
                    r.index,
                    r.tx_result.code.value(),
                    r.tx_result.gas_used,
                    r.tx_result.gas_wanted,
                    r.tx_result.log
                ),
            )
        }
        QueryCmd::Block { height } => {
            use tendermint_rpc::Client as _;
            let r = match height {
                Some(h) => {
                    client
                        .rpc()
                        .block(tendermint::block::Height::try_from(h)?)
                        .await
                }
                None => client.rpc().latest_block().await,
            }
            .context("fetching the block")?;
            let h = &r.block.header;
            print_out(
                &node.output,
                &serde_json::to_value(&r)?,
                &format!(
                    "height {}  hash {}  time {}  txs {}  app_hash {}",
                    h.height,
                    r.block_id.hash,
                    h.time,
                    r.block.data.len(),
                    h.app_hash
                ),
            )
        }
    }
}

async fn bank_send(home: &Home, cmd: BankTxCmd) -> anyhow::Result<()> {
    let BankTxCmd::Send { args, from, flags } = cmd;
    let (from, to, amount) = match (args.as_slice(), from) {
        ([f, t, a], None) => (f.clone(), t, a),
        ([_, _, _], Some(_)) => bail!("give the sending key once: as FROM or as --from"),
        ([t, a], Some(f)) => (f, t, a),
        ([_, _], None) => {
            bail!("name the sending key: deaid tx bank send FROM TO AMOUNT, or --from KEY")
        }
        _ => bail!("usage: deaid tx bank send [FROM] TO AMOUNT [--from KEY]"),
    };
    let to: Address = to
        .parse()
        .with_context(|| format!("recipient {to:?} is not a deai1… address"))?;
    let amount = Coin::parse_list(amount).context("amount")?;
    let describe = format!(
        "send {} from {from} to {to}",
        deai_bank::event::coins_string(&amount)
    );
    txcli::sign_and_broadcast(home, &from, flags, &describe, |from_addr| {
        Ok(vec![msg_send(from_addr, &to, &amount)])
    })
    .await?;
    Ok(())
}
