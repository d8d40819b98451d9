//! `deaid`: the DeAI chain node and its command line.

use std::path::PathBuf;

use anyhow::{bail, Context};
use base64::Engine;
use clap::{Parser, Subcommand};
use deai_app::{
    abci::Listen,
    home::Home,
    keys_cli,
    txbuilder::{msg_send, sign_tx, TxParams},
    App,
};
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
    /// Build and sign transactions.
    #[command(subcommand)]
    Tx(TxCmd),
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
    },
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

#[derive(clap::Args)]
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
}

#[derive(Subcommand)]
enum BankTxCmd {
    /// Sign a MsgSend offline and print the tx for `broadcast_tx_sync`.
    Send {
        /// Name of the sending key.
        from: String,
        /// The recipient.
        to: Address,
        /// Coins, e.g. 1000udeai.
        amount: String,
        /// The chain id.
        #[arg(long, env = "DEAI_CHAIN_ID")]
        chain_id: String,
        /// The sender's account number (`abci_query` /cosmos.auth.v1beta1.Query/Account).
        #[arg(long)]
        account_number: u64,
        /// The sender's sequence.
        #[arg(long)]
        sequence: u64,
        /// The fee, e.g. 2000udeai (at least 0.01udeai per unit of gas by default).
        #[arg(long, default_value = "2000udeai")]
        fees: String,
        /// The gas limit.
        #[arg(long, default_value_t = 200_000)]
        gas: u64,
        /// A memo.
        #[arg(long, default_value = "")]
        memo: String,
        #[command(flatten)]
        keyring: KeyringArgs,
        /// `text` (hex tx) or `json`.
        #[arg(long, default_value = "text")]
        output: String,
    },
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
    /// Check a genesis file and print a summary.
    Validate {
        /// The file (default: the home's).
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Signed MsgSend throughput: CheckTx, and FinalizeBlock + Commit.
    Transfers {
        /// Transactions in the block.
        #[arg(long, default_value_t = 10_000)]
        txs: usize,
        /// Sending accounts.
        #[arg(long, default_value_t = 1_000)]
        accounts: usize,
    },
}

fn main() -> anyhow::Result<()> {
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
        } => start(&home, abci, min_retain_blocks),
        Command::Keys { keyring, cmd } => keys(&home, &keyring, cmd),
        Command::Devnet {
            block_time,
            chain_id,
            rpc_listen,
        } => {
            if block_time.is_zero() {
                bail!("--block-time must be positive");
            }
            let mut cfg = deai_devnet::DevnetConfig::new(home.0.clone());
            cfg.block_time = block_time;
            cfg.chain_id = chain_id;
            cfg.rpc_listen = rpc_listen;
            deai_devnet::start(&cfg)
        }
        Command::Tx(TxCmd::Bank(BankTxCmd::Send {
            from,
            to,
            amount,
            chain_id,
            account_number,
            sequence,
            fees,
            gas,
            memo,
            keyring,
            output,
        })) => {
            let kr = keys_cli::open(
                &home.0,
                keyring.keyring_backend,
                keyring.keyring_dir.as_deref(),
            )?;
            let key = keys_cli::signer(&kr, &from)?;
            let amount = Coin::parse_list(&amount).context("amount")?;
            let fee = match Coin::parse_list(&fees).context("fees")?.as_slice() {
                [] => None,
                [c] => Some(c.clone()),
                _ => bail!("--fees takes one coin"),
            };
            let p = TxParams {
                chain_id,
                account_number,
                sequence,
                fee,
                gas_limit: gas,
                memo,
            };
            let bytes = sign_tx(&key, vec![msg_send(&key.address(), &to, &amount)], &p);
            let hash = hex::encode_upper(deai_app::tx::tx_hash(&bytes));
            match output.as_str() {
                "json" => println!(
                    "{}",
                    serde_json::json!({
                        "tx_hex": hex::encode(&bytes),
                        "tx_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
                        "hash": hash,
                    })
                ),
                "text" => println!("{}", hex::encode(&bytes)),
                other => bail!("--output must be text or json, got {other}"),
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Transfers { txs, accounts }) => {
            let r = deai_app::bench::transfers(txs, accounts)?;
            println!(
                "transfers: {} signed MsgSend txs from {} accounts",
                r.txs, r.accounts
            );
            println!(
                "CheckTx:                {:>8} tx/s  ({} ms)",
                deai_app::bench::per_second(r.txs, r.check_tx),
                r.check_tx.as_millis()
            );
            println!(
                "FinalizeBlock + Commit: {:>8} tx/s  (finalize {} ms, commit {} ms, {} cores)",
                deai_app::bench::per_second(r.txs, r.finalize + r.commit),
                r.finalize.as_millis(),
                r.commit.as_millis(),
                rayon_threads()
            );
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
    let doc = GenesisDoc::new(chain_id, &now_rfc3339())?;
    doc.save(&path)?;
    println!("wrote {}", path.display());
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
        GenesisCmd::Validate { file } => {
            let file = file.unwrap_or(path);
            let doc = load(&file)?;
            println!(
                "{} is valid: chain {}, {} accounts, {} balances, {} validators",
                file.display(),
                doc.chain_id,
                doc.app_state.auth.accounts.len(),
                doc.app_state.bank.balances.len(),
                doc.app_state.validators.len()
            );
        }
    }
    Ok(())
}

fn load(path: &std::path::Path) -> anyhow::Result<GenesisDoc> {
    GenesisDoc::load(path).with_context(|| {
        format!(
            "reading genesis {} (run `deaid init` first?)",
            path.display()
        )
    })
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

fn start(home: &Home, abci: Listen, min_retain_blocks: u64) -> anyhow::Result<()> {
    let mut app = App::open(&home.state_dir())?;
    app.set_min_retain_blocks(min_retain_blocks);
    let app = std::sync::Arc::new(std::sync::Mutex::new(app));
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    tracing::info!(?abci, "serving ABCI");
    rt.block_on(deai_app::abci::serve(app, abci))
}

fn keys(home: &Home, args: &KeyringArgs, cmd: KeysCmd) -> anyhow::Result<()> {
    let kr = keys_cli::open(&home.0, args.keyring_backend, args.keyring_dir.as_deref())?;
    match cmd {
        KeysCmd::Add { name } => {
            let pass = keys_cli::passphrase(&kr)?;
            let (info, mnemonic) = kr.add(&name, pass.as_deref())?;
            println!("{}", keys_cli::render(&[info], false)?);
            eprintln!(
                "\nWrite this mnemonic down and keep it safe. It is the only way to recover the key:\n"
            );
            println!("{mnemonic}");
        }
        KeysCmd::Recover { name } => {
            let mnemonic = keys_cli::read_line("the mnemonic")?;
            let pass = keys_cli::passphrase(&kr)?;
            let info = kr.recover(&name, &mnemonic, pass.as_deref())?;
            println!("{}", keys_cli::render(&[info], false)?);
        }
        KeysCmd::List { json } => println!("{}", keys_cli::render(&kr.list()?, json)?),
        KeysCmd::Show { name, address } => {
            let info = kr.show(&name)?;
            if address {
                println!("{}", info.address);
            } else {
                println!("{}", keys_cli::render(&[info], true)?);
            }
        }
        KeysCmd::Export { name } => {
            let pass = keys_cli::passphrase(&kr)?;
            let export_pass = keys_cli::read_line("a passphrase to encrypt the export")?;
            println!("{}", kr.export(&name, pass.as_deref(), &export_pass)?);
        }
        KeysCmd::Import { name, file } => {
            let armored = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let export_pass = keys_cli::read_line("the export's passphrase")?;
            let pass = keys_cli::passphrase(&kr)?;
            let info = kr.import(&name, &armored, &export_pass, pass.as_deref())?;
            println!("{}", keys_cli::render(&[info], false)?);
        }
        KeysCmd::Delete { name, yes } => {
            if !yes {
                let answer = keys_cli::read_line(&format!("'y' to delete key {name:?}"))?;
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
