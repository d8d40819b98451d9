//! The genesis file. DeAI uses CometBFT's `genesis.json` unchanged and puts
//! its own state under `app_state`, one section per module; CometBFT hands
//! `app_state` to the app in `InitChain`. This crate parses and validates
//! both with errors that say what to fix, builds a fresh document for
//! `deaid init`, edits it for `deaid genesis add-account`/`add-validator`,
//! and, for `InitChain`, has each module check and write its own section
//! through the module contract ([`ModuleSections`]).
//!
//! [`AppState`] is the typed view the tools edit; [`ModuleSections`] is what
//! InitChain reads: it knows no section's shape, only the registry's
//! [`deai_types::GenesisHandler::genesis_key`]s, so a new module's section needs no
//! edit here.

// Consensus code: no floating point (results must match on every machine).
#![deny(clippy::float_arithmetic)]

use std::path::Path;

use base64::Engine;
use deai_auth::{AuthError, AuthGenesis, AuthWrite};
use deai_bank::{BankError, BankGenesis, GenesisBalance};
use deai_types::{module::genesis_section, Address, Coin, Module, StateWrite};
use serde::{Deserialize, Serialize};

mod export;

pub use export::{
    ExportedEntry, ExportedHistory, ExportedState, HistoryPart, HistoryReader, EXPORTED_KEY,
};

/// The application's protocol version: what `Info` reports, what block
/// headers carry, and what a new genesis puts in `consensus_params.version.app`,
/// so CometBFT's handshake sees one number everywhere.
pub const APP_VERSION: u64 = 1;

/// Why a genesis file was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON does not parse or does not have the expected shape.
    #[error("genesis JSON is invalid: {0}")]
    Json(String),
    /// A top-level field is wrong.
    #[error("genesis: {0}")]
    Invalid(String),
    /// The auth section is wrong.
    #[error("genesis app_state.auth: {0}")]
    Auth(#[from] AuthError),
    /// The bank section is wrong.
    #[error("genesis app_state.bank: {0}")]
    Bank(#[from] BankError),
    /// A module's section is wrong, as its module says (through the module contract).
    #[error("genesis app_state.{key}: {reason}")]
    Section {
        /// The section's `app_state` field.
        key: &'static str,
        /// What its module says is wrong.
        reason: String,
    },
    /// A validator entry is wrong.
    #[error("genesis app_state.validators[{index}]: {reason}")]
    Validator {
        /// Position in the list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A validator named in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// A human-readable name.
    pub name: String,
    /// The ed25519 consensus public key, base64 (as in CometBFT's priv_validator_key.json).
    pub pub_key: String,
    /// Voting power, a positive integer.
    pub power: u64,
}

impl GenesisValidator {
    /// The raw 32-byte public key.
    pub fn pub_key_bytes(&self) -> Result<[u8; 32], String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.pub_key)
            .map_err(|e| format!("pub_key is not base64: {e}"))?;
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("pub_key must be 32 bytes, got {}", b.len()))
    }
}

/// DeAI's `app_state`: one section per module. The tools edit the auth and
/// bank sections typed (accounts and balances); every other module's
/// section is kept as JSON under its `app_state` field, so a new module
/// needs no field here: the module checks its own section (InitChain,
/// `deaid genesis validate`), and `deai_app::modules::default_app_state`
/// fills every registered module's defaults for a new genesis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AppState {
    /// Accounts and auth parameters.
    #[serde(default)]
    pub auth: AuthGenesis,
    /// Balances and bank parameters.
    #[serde(default)]
    pub bank: BankGenesis,
    /// The initial validators. When non-empty, `InitChain` returns them and
    /// CometBFT uses them instead of its own genesis list.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
    /// Module state exported from a running chain (`deaid export`). When
    /// present, the module sections must be absent: this is the state.
    #[serde(default)]
    pub exported: Option<ExportedState>,
    /// Genesis transactions (`deaid genesis gentx`, `collect-gentxs`).
    #[serde(default)]
    pub genutil: Genutil,
    /// Every other module's section, by its `app_state` field.
    #[serde(flatten)]
    pub sections: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The `app_state` fields the tools read typed.
pub const TYPED_SECTIONS: [&str; 2] = ["auth", "bank"];

/// The `app_state` field of genesis transactions, as the Cosmos SDK names it.
pub const GENUTIL_KEY: &str = "genutil";

/// Genesis transactions: each a signed `MsgCreateValidator` in the SDK's
/// JSON form of a `cosmos.tx.v1beta1.Tx`, delivered at InitChain after
/// every module's section is written; the validators they create are the
/// chain's first set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genutil {
    /// The transactions, in the order they are delivered.
    #[serde(default)]
    pub gen_txs: Vec<serde_json::Value>,
}

/// Writes every section, or, when the state is exported, only the
/// validators and the exported state (sections beside it are refused).
impl Serialize for AppState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if self.exported.is_none() {
            map.serialize_entry("auth", &self.auth)?;
            map.serialize_entry("bank", &self.bank)?;
            for (key, section) in &self.sections {
                map.serialize_entry(key, section)?;
            }
        }
        map.serialize_entry(VALIDATORS_KEY, &self.validators)?;
        if !self.genutil.gen_txs.is_empty() {
            map.serialize_entry(GENUTIL_KEY, &self.genutil)?;
        }
        if let Some(exported) = &self.exported {
            map.serialize_entry(EXPORTED_KEY, exported)?;
        }
        map.end()
    }
}

impl AppState {
    /// Parses and validates `app_state` bytes as CometBFT passes them.
    pub fn from_json(bytes: &[u8]) -> Result<Self, GenesisError> {
        let s: AppState =
            serde_json::from_slice(bytes).map_err(|e| GenesisError::Json(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks every section.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.exported.is_some() {
            let sections_empty = self.auth == AuthGenesis::default()
                && self.bank == BankGenesis::default()
                && self.sections.is_empty()
                && self.genutil.gen_txs.is_empty();
            if !sections_empty {
                return Err(exported_with_sections());
            }
        }
        if !self.genutil.gen_txs.is_empty() && !self.validators.is_empty() {
            return Err(validators_and_gentxs());
        }
        self.auth.validate()?;
        self.bank.validate()?;
        validate_validators(&self.validators)
    }

    /// Checks every section against the registry `modules`: each field is
    /// a registered module's section (checked by its module), the validator
    /// list, exported state or the genesis transactions.
    pub fn check_sections(&self, modules: &[&dyn Module]) -> Result<(), GenesisError> {
        let json = serde_json::to_vec(self).map_err(|e| GenesisError::Json(e.to_string()))?;
        ModuleSections::from_json(modules, &json).map(|_| ())
    }

    /// Adds `coins` to `addr`'s opening balance (creating it if needed) and lists its account.
    pub fn add_account(&mut self, addr: Address, coins: &[Coin]) -> Result<(), GenesisError> {
        if !self.auth.accounts.contains(&addr) {
            self.auth.accounts.push(addr);
        }
        let entry = match self.bank.balances.iter_mut().find(|b| b.address == addr) {
            Some(e) => e,
            None => {
                self.bank.balances.push(GenesisBalance {
                    address: addr,
                    coins: Vec::new(),
                });
                self.bank
                    .balances
                    .last_mut()
                    .expect("an entry was just pushed")
            }
        };
        for c in coins {
            Coin::validate_denom(&c.denom).map_err(|e| GenesisError::Invalid(e.to_string()))?;
            match entry.coins.iter_mut().find(|x| x.denom == c.denom) {
                Some(x) => {
                    x.amount = x.amount.checked_add(c.amount).ok_or_else(|| {
                        GenesisError::Invalid(format!("balance of {addr} overflows"))
                    })?
                }
                None => entry.coins.push(c.clone()),
            }
        }
        entry.coins.sort();
        Ok(())
    }
}

/// Most genesis transactions one genesis may carry (each is a validator).
pub const MAX_GEN_TXS: usize = 1_000;

/// The bytes of genesis transaction `json` (the SDK's JSON of a
/// `cosmos.tx.v1beta1.Tx`) as a signed transaction (`TxRaw`): its body and
/// auth info encoded as the signer encoded them (canonical protobuf, which
/// the JSON round trip reproduces exactly; a signature over anything else
/// fails to verify at InitChain).
pub fn gentx_bytes(json: &serde_json::Value) -> Result<Vec<u8>, GenesisError> {
    use prost::Message;
    let bad = |e: String| GenesisError::Invalid(format!("a genesis transaction: {e}"));
    let desc = deai_proto::descriptor_pool()
        .get_message_by_name("cosmos.tx.v1beta1.Tx")
        .ok_or_else(|| bad("cosmos.tx.v1beta1.Tx is not in the descriptor set".into()))?;
    let msg = deai_proto::from_lcd_json(desc, json)
        .map_err(|e| bad(format!("not a cosmos.tx.v1beta1.Tx in JSON: {e}")))?;
    let tx = cosmos_sdk_proto::cosmos::tx::v1beta1::Tx::decode(msg.encode_to_vec().as_slice())
        .map_err(|e| bad(e.to_string()))?;
    let raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw {
        body_bytes: tx.body.map(|b| b.encode_to_vec()).unwrap_or_default(),
        auth_info_bytes: tx.auth_info.map(|a| a.encode_to_vec()).unwrap_or_default(),
        signatures: tx.signatures,
    };
    Ok(raw.encode_to_vec())
}

/// Both a fixed validator list and genesis transactions: two first sets.
fn validators_and_gentxs() -> GenesisError {
    GenesisError::Invalid(format!(
        "app_state.{VALIDATORS_KEY} and app_state.{GENUTIL_KEY}.gen_txs both name the first validators: use genesis transactions (collect-gentxs) or the fixed list, not both"
    ))
}

/// An `app_state` with exported state and module sections: two states.
fn exported_with_sections() -> GenesisError {
    GenesisError::Invalid(format!(
        "app_state.{EXPORTED_KEY} holds the whole module state: remove the module sections, or remove {EXPORTED_KEY}"
    ))
}

/// The `app_state` field that lists the initial validators: the one field
/// no module owns.
pub const VALIDATORS_KEY: &str = "validators";

/// Checks the validator list: keys, powers, no key twice.
fn validate_validators(validators: &[GenesisValidator]) -> Result<(), GenesisError> {
    let mut keys = std::collections::BTreeSet::new();
    for (index, v) in validators.iter().enumerate() {
        let bad = |reason: String| GenesisError::Validator { index, reason };
        let key = v.pub_key_bytes().map_err(bad)?;
        if v.power == 0 || v.power > i64::MAX as u64 / 8 {
            return Err(bad(format!("power {} out of range", v.power)));
        }
        if !keys.insert(key) {
            return Err(bad("the same key is listed twice".into()));
        }
    }
    Ok(())
}

/// `app_state` as InitChain reads it: each field is a registered module's
/// section, checked and written by that module ([`deai_types::GenesisHandler`]), or the
/// validator list; any other field is refused.
pub struct ModuleSections<'m> {
    /// The registry, in the order sections are written.
    modules: &'m [&'m dyn Module],
    /// Each module's section by its key (`{}` where `app_state` had none).
    sections: serde_json::Map<String, serde_json::Value>,
    /// The initial validators.
    validators: Vec<GenesisValidator>,
    /// Exported module state, written instead of the sections.
    exported: Option<ExportedState>,
    /// Genesis transactions.
    gen_txs: Vec<serde_json::Value>,
}

impl<'m> ModuleSections<'m> {
    /// Parses `app_state` bytes as CometBFT passes them and has every
    /// module of `modules` check its section, in registry order.
    pub fn from_json(modules: &'m [&'m dyn Module], bytes: &[u8]) -> Result<Self, GenesisError> {
        // A JSON value keeps the last of repeated keys; the typed sections
        // refused them. Refuse them here too, so no two readings of one
        // genesis file can differ.
        serde_json::from_slice::<NoDuplicateKeys>(bytes)
            .map_err(|e| GenesisError::Json(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| GenesisError::Json(e.to_string()))?;
        Self::from_value(modules, value)
    }

    /// As [`ModuleSections::from_json`], from parsed JSON.
    pub fn from_value(
        modules: &'m [&'m dyn Module],
        value: serde_json::Value,
    ) -> Result<Self, GenesisError> {
        let serde_json::Value::Object(mut fields) = value else {
            return Err(GenesisError::Json(format!(
                "app_state must be a JSON object, not {value}"
            )));
        };
        let validators = match fields.remove(VALIDATORS_KEY) {
            Some(v) => genesis_section(&v).map_err(GenesisError::Json)?,
            None => Vec::new(),
        };
        let exported: Option<ExportedState> = match fields.remove(EXPORTED_KEY) {
            Some(v) => Some(
                genesis_section(&v)
                    .map_err(|e| GenesisError::Json(format!("app_state.{EXPORTED_KEY}: {e}")))?,
            ),
            None => None,
        };
        let gen_txs = match fields.remove(GENUTIL_KEY) {
            Some(v) => {
                genesis_section::<Genutil>(&v)
                    .map_err(|e| GenesisError::Json(format!("app_state.{GENUTIL_KEY}: {e}")))?
                    .gen_txs
            }
            None => Vec::new(),
        };
        if !gen_txs.is_empty() && !validators.is_empty() {
            return Err(validators_and_gentxs());
        }
        if gen_txs.len() > MAX_GEN_TXS {
            return Err(GenesisError::Invalid(format!(
                "at most {MAX_GEN_TXS} genesis transactions"
            )));
        }
        for tx in &gen_txs {
            gentx_bytes(tx)?;
        }
        let keys: Vec<&'static str> = modules.iter().filter_map(|m| m.genesis_key()).collect();
        if let Some(unknown) = fields.keys().find(|k| !keys.contains(&k.as_str())) {
            let known: Vec<String> = keys
                .iter()
                .chain([&VALIDATORS_KEY, &EXPORTED_KEY, &GENUTIL_KEY])
                .map(|k| format!("`{k}`"))
                .collect();
            return Err(GenesisError::Json(format!(
                "unknown field `{unknown}`, expected one of {}",
                known.join(", ")
            )));
        }
        if let Some(exported) = &exported {
            if !fields.is_empty() || !gen_txs.is_empty() {
                return Err(exported_with_sections());
            }
            exported.decode(modules)?;
        }
        for key in &keys {
            fields
                .entry(*key)
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        }
        let sections = ModuleSections {
            modules,
            sections: fields,
            validators,
            exported,
            gen_txs,
        };
        for (module, key, section) in sections.each() {
            module
                .validate_genesis(section)
                .map_err(|reason| GenesisError::Section { key, reason })?;
        }
        validate_validators(&sections.validators)?;
        Ok(sections)
    }

    /// The modules that have a section, each with its key and section, in registry order.
    fn each(&self) -> impl Iterator<Item = (&'m dyn Module, &'static str, &serde_json::Value)> {
        self.modules.iter().filter_map(|m| {
            let key = m.genesis_key()?;
            let section = self.sections.get(key)?;
            Some((*m, key, section))
        })
    }

    /// The initial validators (empty: CometBFT's own list stands).
    pub fn validators(&self) -> &[GenesisValidator] {
        &self.validators
    }

    /// The exported state this genesis carries, if any.
    pub fn exported(&self) -> Option<&ExportedState> {
        self.exported.as_ref()
    }

    /// The genesis transactions, in delivery order.
    pub fn gen_txs(&self) -> &[serde_json::Value] {
        &self.gen_txs
    }

    /// Writes every module's section into `state`, in registry order (auth,
    /// then bank, before the modules that build on them: compute checks the
    /// bonds its module account holds), then gives every holder of a bank
    /// balance an account if it lacks one. That last step is glue between
    /// bank and auth, kept here as the app keeps the glue for messages.
    ///
    /// With exported state, its entries are written instead, and every
    /// module checks its books ([`deai_types::GenesisHandler::check_state`]).
    pub fn init(&self, state: &mut dyn StateWrite) -> Result<(), GenesisError> {
        if let Some(exported) = &self.exported {
            return exported.init(self.modules, state);
        }
        for (module, key, section) in self.each() {
            module
                .init_genesis(state, section)
                .map_err(|reason| GenesisError::Section { key, reason })?;
        }
        if let Some(section) = self.sections.get(deai_bank::MODULE_NAME) {
            let bank: BankGenesis =
                genesis_section(section).map_err(|reason| GenesisError::Section {
                    key: deai_bank::MODULE_NAME,
                    reason,
                })?;
            for b in &bank.balances {
                state.ensure_account(&b.address)?;
            }
        }
        Ok(())
    }
}

/// CometBFT's genesis document with DeAI's app state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenesisDoc {
    /// RFC 3339 time of genesis.
    pub genesis_time: String,
    /// The chain id.
    pub chain_id: String,
    /// Height of the first block, as a decimal string (CometBFT's form).
    #[serde(default = "one")]
    pub initial_height: String,
    /// CometBFT consensus parameters, passed through untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus_params: Option<serde_json::Value>,
    /// CometBFT's own validator list (may be empty when app_state names them).
    #[serde(default)]
    pub validators: Vec<serde_json::Value>,
    /// Expected app hash after genesis (empty: not checked).
    #[serde(default)]
    pub app_hash: String,
    /// DeAI's state.
    pub app_state: AppState,
}

fn one() -> String {
    "1".to_string()
}

impl GenesisDoc {
    /// A fresh document with CometBFT v0.38's default consensus parameters.
    pub fn new(chain_id: &str, genesis_time: &str) -> Result<Self, GenesisError> {
        validate_chain_id(chain_id)?;
        Ok(GenesisDoc {
            genesis_time: genesis_time.to_string(),
            chain_id: chain_id.to_string(),
            initial_height: one(),
            consensus_params: Some(serde_json::json!({
                "block": { "max_bytes": "4194304", "max_gas": "-1" },
                "evidence": {
                    "max_age_num_blocks": "100000",
                    "max_age_duration": "172800000000000",
                    "max_bytes": "1048576"
                },
                "validator": { "pub_key_types": ["ed25519"] },
                "version": { "app": APP_VERSION.to_string() },
                "abci": { "vote_extensions_enable_height": "0" }
            })),
            validators: Vec::new(),
            app_hash: String::new(),
            app_state: AppState::default(),
        })
    }

    /// Parses and validates a document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, GenesisError> {
        let doc: GenesisDoc =
            serde_json::from_slice(bytes).map_err(|e| GenesisError::Json(e.to_string()))?;
        doc.validate()?;
        Ok(doc)
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let bytes = std::fs::read(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// Validates and writes the file (pretty JSON), replacing it atomically.
    pub fn save(&self, path: &Path) -> Result<(), GenesisError> {
        self.validate()?;
        let io = |source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        };
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| GenesisError::Json(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The first block height.
    pub fn initial_height(&self) -> Result<u64, GenesisError> {
        self.initial_height
            .parse::<u64>()
            .ok()
            .filter(|h| *h >= 1)
            .ok_or_else(|| {
                GenesisError::Invalid(format!(
                    "initial_height {:?} is not a positive integer",
                    self.initial_height
                ))
            })
    }

    /// Checks the whole document.
    pub fn validate(&self) -> Result<(), GenesisError> {
        validate_chain_id(&self.chain_id)?;
        self.initial_height()?;
        if self.genesis_time.is_empty() {
            return Err(GenesisError::Invalid("genesis_time is empty".into()));
        }
        self.app_state.validate()
    }
}

/// Checks a chain id: 1 to 50 characters, no whitespace (CometBFT's limit).
pub fn validate_chain_id(chain_id: &str) -> Result<(), GenesisError> {
    if chain_id.is_empty() || chain_id.len() > 50 || chain_id.chars().any(char::is_whitespace) {
        return Err(GenesisError::Invalid(format!(
            "chain_id {chain_id:?} must be 1-50 characters without spaces"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use deai_bank::BankRead;
    use deai_types::{BlockHooks, GenesisHandler, MemState, MsgHandler, QueryHandler, StateRead};

    use super::*;

    /// The chain's modules, as the app lists them.
    const MODULES: &[&dyn Module] = &[
        &deai_auth::AuthModule,
        &deai_bank::BankModule,
        &deai_gov::GovModule,
        &deai_compute_module::ComputeModule,
        &deai_treasury::TreasuryModule,
        &deai_mint::MintModule,
        &deai_distribution::DistributionModule,
        &deai_staking::StakingModule::new(&deai_distribution::DistributionHooks),
        &deai_slashing::SlashingModule::new(&deai_distribution::DistributionHooks),
    ];

    /// A module whose section is `{"start": N}` with N below 100, written
    /// under its own key.
    struct Counter;

    impl BlockHooks for Counter {}
    impl QueryHandler for Counter {}
    impl MsgHandler for Counter {}
    impl GenesisHandler for Counter {
        fn genesis_key(&self) -> Option<&'static str> {
            Some("counter")
        }

        fn validate_genesis(&self, section: &serde_json::Value) -> Result<(), String> {
            let start = section["start"].as_u64().ok_or("start must be a number")?;
            if start >= 100 {
                return Err(format!("start {start} must be below 100"));
            }
            Ok(())
        }

        fn init_genesis(
            &self,
            state: &mut dyn StateWrite,
            section: &serde_json::Value,
        ) -> Result<(), String> {
            let start = section["start"].as_u64().ok_or("start must be a number")?;
            state
                .put_raw(b"counter/start".to_vec(), start.to_be_bytes().to_vec())
                .map_err(|e| e.to_string())
        }
    }
    impl Module for Counter {
        fn name(&self) -> &'static str {
            "counter"
        }
    }

    #[test]
    fn a_registered_modules_section_is_validated_and_written_through_the_registry() {
        let modules: &[&dyn Module] = &[&deai_auth::AuthModule, &Counter];
        let sections = ModuleSections::from_json(modules, br#"{"counter": {"start": 7}}"#).unwrap();
        let mut s = MemState::default();
        sections.init(&mut s).unwrap();
        assert_eq!(
            s.get_raw(b"counter/start").unwrap(),
            Some(7u64.to_be_bytes().to_vec())
        );

        let e = ModuleSections::from_json(modules, br#"{"counter": {"start": 100}}"#)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "genesis app_state.counter: start 100 must be below 100"
        );
        // An absent section reads as `{}`, which this module refuses.
        let e = ModuleSections::from_json(modules, b"{}").err().unwrap();
        assert_eq!(
            e.to_string(),
            "genesis app_state.counter: start must be a number"
        );
        // A section no registered module claims is refused, naming the known ones.
        let e = ModuleSections::from_json(modules, br#"{"counter": {"start": 1}, "bank": {}}"#)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "genesis JSON is invalid: unknown field `bank`, expected one of `auth`, `counter`, `validators`, `exported`, `genutil`"
        );
    }

    #[test]
    fn the_registry_reads_what_the_tools_write() {
        let mut state = AppState::default();
        let a = Address([1; 20]);
        state.add_account(a, &[Coin::new(5, "udeai")]).unwrap();
        let b = Address([2; 20]);
        state.bank.balances.push(GenesisBalance {
            address: b,
            coins: vec![Coin::new(3, "udeai")],
        });
        let json = serde_json::to_vec(&state).unwrap();
        let sections = ModuleSections::from_json(MODULES, &json).unwrap();
        let mut s = MemState::default();
        sections.init(&mut s).unwrap();
        assert_eq!(s.balance(&b, "udeai").unwrap(), 3);
        // The balance holder genesis listed no account for got one, after the listed ones.
        let number = |addr| {
            deai_auth::AuthRead::account(&s, &addr)
                .unwrap()
                .unwrap()
                .account_number
        };
        assert_eq!(number(b), number(a) + 1);
    }

    /// A state written from a genesis with two funded accounts.
    fn funded_state() -> MemState {
        let mut state = AppState::default();
        state
            .add_account(Address([1; 20]), &[Coin::new(5, "udeai")])
            .unwrap();
        state
            .add_account(
                Address([2; 20]),
                &[Coin::new(7, "udeai"), Coin::new(1, "uatom")],
            )
            .unwrap();
        let json = serde_json::to_vec(&state).unwrap();
        let mut s = MemState::default();
        ModuleSections::from_json(MODULES, &json)
            .unwrap()
            .init(&mut s)
            .unwrap();
        s.put_raw(b"app/chain_info".to_vec(), b"not exported".to_vec())
            .unwrap();
        s
    }

    /// History for a state with no open votes: never read.
    fn no_history(h: u64) -> Result<Box<dyn StateRead>, String> {
        Err(format!("height {h} read"))
    }

    /// Every entry of `state`, ascending.
    fn all_entries(state: &MemState) -> Vec<(Vec<u8>, Vec<u8>)> {
        state.prefix_raw(b"", None, usize::MAX).unwrap()
    }

    #[test]
    fn exported_state_is_written_back_byte_for_byte() {
        let s = funded_state();
        let exported = ExportedState::read(MODULES, &s, 7, &[0xab; 32], &no_history).unwrap();
        assert_eq!(exported.height, "7");
        assert_eq!(exported.app_hash, "ab".repeat(32));
        let app_state = AppState {
            exported: Some(exported),
            ..Default::default()
        };
        // The tools' typed view and InitChain's both accept it.
        let json = serde_json::to_vec(&app_state).unwrap();
        assert_eq!(AppState::from_json(&json).unwrap(), app_state);
        let mut back = MemState::default();
        ModuleSections::from_json(MODULES, &json)
            .unwrap()
            .init(&mut back)
            .unwrap();
        let mut expected = all_entries(&s);
        expected.retain(|(k, _)| !k.starts_with(b"app/"));
        assert!(expected.len() > 5, "{expected:?}");
        assert_eq!(all_entries(&back), expected);
    }

    #[test]
    fn bad_exported_state_is_a_clear_error_and_writes_nothing() {
        let s = funded_state();
        let good = ExportedState::read(MODULES, &s, 7, &[0; 32], &no_history).unwrap();
        let check = |exported: ExportedState, needle: &str| {
            let json = serde_json::to_vec(&serde_json::json!({ "exported": exported })).unwrap();
            let e = match ModuleSections::from_json(MODULES, &json) {
                Err(e) => e,
                Ok(sections) => {
                    let mut state = MemState::default();
                    sections.init(&mut state).unwrap_err()
                }
            };
            assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
        };
        let mut bad = good.clone();
        bad.entries[0].key = "zz".into();
        check(bad, "entries[0]: key is not hex");
        let mut bad = good.clone();
        bad.entries[1].value = "!".into();
        check(bad, "entries[1]: value is not base64");
        let mut bad = good.clone();
        bad.entries.swap(0, 1);
        check(bad, "strictly ascending");
        let mut bad = good.clone();
        let dup = bad.entries[0].clone();
        bad.entries.insert(0, dup);
        check(bad, "strictly ascending");
        let mut bad = good.clone();
        bad.entries.push(ExportedEntry {
            key: hex::encode(b"zzz/x"),
            value: String::new(),
        });
        check(bad, "zzz/x belongs to no module");
        let mut bad = good.clone();
        bad.entries.insert(
            0,
            ExportedEntry {
                key: hex::encode(b"app/chain_info"),
                value: String::new(),
            },
        );
        check(bad, "come from the genesis document");
        let mut bad = good.clone();
        bad.height = "-1".into();
        check(bad, "exported.height");
        // History: heights ascending, at most the exported one; prefixes
        // of modules; entries under them.
        let part = |height: &str, prefix: &[u8], key: &[u8]| ExportedHistory {
            height: height.into(),
            prefixes: vec![hex::encode(prefix)],
            entries: vec![ExportedEntry {
                key: hex::encode(key),
                value: String::new(),
            }],
        };
        let with = |parts: Vec<ExportedHistory>| ExportedState {
            history: parts,
            ..good.clone()
        };
        let fine = with(vec![
            part("3", b"bank/", b"bank/x"),
            part("7", b"bank/", b"bank/y"),
        ]);
        assert_eq!(fine.decode_history(MODULES).unwrap().len(), 2);
        check(
            with(vec![part("8", b"bank/", b"bank/x")]),
            "history[0]: height 8",
        );
        check(
            with(vec![
                part("3", b"bank/", b"bank/x"),
                part("3", b"bank/", b"bank/x"),
            ]),
            "history[1]: height 3: heights must ascend",
        );
        check(
            with(vec![part("3", b"nobody/", b"nobody/x")]),
            "history[0]: state key nobody/",
        );
        check(
            with(vec![part("3", b"bank/a", b"bank/b")]),
            "under none of its prefixes",
        );
        // A balance changed without the supply: the bank refuses its books.
        let mut bad = good.clone();
        let balance = deai_bank::state_key::balance(&Address([1; 20]), "udeai");
        let e = bad
            .entries
            .iter_mut()
            .find(|e| e.key == hex::encode(&balance))
            .unwrap();
        let mut other = MemState::default();
        deai_bank::BankWrite::set_balance(&mut other, &Address([1; 20]), "udeai", 6).unwrap();
        e.value = base64::engine::general_purpose::STANDARD
            .encode(other.get_raw(&balance).unwrap().unwrap());
        check(bad, "app_state.bank: ");
        // Module sections beside exported state: two states, refused.
        let json =
            serde_json::to_vec(&serde_json::json!({ "exported": good, "bank": {} })).unwrap();
        let e = ModuleSections::from_json(MODULES, &json).err().unwrap();
        assert!(e.to_string().contains("remove the module sections"), "{e}");
        let mut typed = AppState {
            exported: Some(good),
            ..Default::default()
        };
        typed.add_account(Address([3; 20]), &[]).unwrap();
        let e = typed.validate().unwrap_err();
        assert!(e.to_string().contains("remove the module sections"), "{e}");
    }

    #[test]
    fn export_refuses_state_no_module_owns() {
        let mut s = funded_state();
        s.put_raw(b"orphan/key".to_vec(), vec![1]).unwrap();
        let e = ExportedState::read(MODULES, &s, 1, &[0; 32], &no_history).unwrap_err();
        assert!(
            e.to_string().contains("orphan/key belongs to no module"),
            "{e}"
        );
    }

    #[test]
    fn a_new_document_names_the_app_version_info_reports() {
        let doc = GenesisDoc::new("deai-test", "2026-01-01T00:00:00Z").unwrap();
        let params = doc.consensus_params.unwrap();
        assert_eq!(params["version"]["app"], APP_VERSION.to_string());
    }

    #[test]
    fn a_new_document_round_trips_and_initialises_state() {
        let mut doc = GenesisDoc::new("deai-test", "2026-01-01T00:00:00Z").unwrap();
        let a = Address([1; 20]);
        doc.app_state
            .add_account(a, &[Coin::new(5, "udeai")])
            .unwrap();
        doc.app_state
            .add_account(a, &[Coin::new(7, "udeai")])
            .unwrap();
        let json = serde_json::to_vec(&doc).unwrap();
        let back = GenesisDoc::from_json(&json).unwrap();
        assert_eq!(back, doc);
        let json = serde_json::to_vec(&back.app_state).unwrap();
        let mut s = MemState::default();
        ModuleSections::from_json(MODULES, &json)
            .unwrap()
            .init(&mut s)
            .unwrap();
        assert_eq!(s.balance(&a, "udeai").unwrap(), 12);
        assert_eq!(s.supply("udeai").unwrap(), 12);
    }

    #[test]
    fn malformed_genesis_is_a_clear_error() {
        let e = AppState::from_json(
            br#"{"bank": {"balances": [{"address": "deai1xyz", "coins": []}]}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid"), "{e}");
        // A section no module claims: kept by the tools' view, refused by
        // the registry (InitChain, `deaid`'s genesis commands).
        let typo = AppState::from_json(br#"{"bnak": {}}"#).unwrap();
        let e = typo.check_sections(MODULES).unwrap_err();
        assert!(e.to_string().contains("unknown field `bnak`"), "{e}");
        let e = AppState::from_json(
            br#"{"validators": [{"name": "v", "pub_key": "AAAA", "power": 1}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("32 bytes"), "{e}");
        assert!(GenesisDoc::new("has space", "t").is_err());
    }

    #[test]
    fn a_zero_minimum_gas_denominator_is_refused() {
        let e = AppState::from_json(br#"{"auth": {"params": {"max_memo_characters": 1, "tx_sig_limit": 1, "max_tx_bytes": 1000, "max_tx_gas": 1, "min_gas_price_num": 1, "min_gas_price_den": 0, "fee_denom": "udeai"}}}"#).unwrap_err();
        assert!(matches!(e, GenesisError::Auth(_)), "{e}");
        let e = ModuleSections::from_json(MODULES, br#"{"auth": {"params": {"max_memo_characters": 1, "tx_sig_limit": 1, "max_tx_bytes": 1000, "max_tx_gas": 1, "min_gas_price_num": 1, "min_gas_price_den": 0, "fee_denom": "udeai"}}}"#).err().unwrap();
        assert!(
            matches!(e, GenesisError::Section { key: "auth", .. }),
            "{e}"
        );
        assert!(e.to_string().starts_with("genesis app_state.auth: "), "{e}");
    }
}

/// Reads any JSON and fails on an object that names a key twice, at any
/// depth. serde_json bounds the nesting it will read (128 levels), so the
/// recursion here is bounded too.
#[derive(Debug)]
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
}

#[cfg(test)]
mod duplicate_key_tests {
    use super::NoDuplicateKeys;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let ok = br#"{"a": {"b": 1, "c": [ {"d": 1}, {"d": 2} ]}, "e": null}"#;
        assert!(serde_json::from_slice::<NoDuplicateKeys>(ok).is_ok());
        for bad in [
            &br#"{"a": 1, "a": 2}"#[..],
            br#"{"bank": {"params": {}, "params": {}}}"#,
            br#"[{"x": {"y": 1, "y": 1}}]"#,
        ] {
            let e = serde_json::from_slice::<NoDuplicateKeys>(bad).unwrap_err();
            assert!(e.to_string().contains("duplicate key"), "{e}");
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(serde_json::from_slice::<NoDuplicateKeys>(deep.as_bytes()).is_err());
    }
}
