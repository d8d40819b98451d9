//! The module contract: what the app asks of every module, so that it can
//! run them all from one ordered list. A module implements [`Module`] on a
//! unit struct in its own crate; the app lists those structs once.
//!
//! Block hooks ([`BlockHooks`]) see one [`BlockCtx`]: what consensus decided
//! about the block ([`BlockInfo`]: height, time, proposer, the last commit's
//! votes, misbehaviour evidence), the previous app hash, the fees the
//! block's transactions paid, and a [`BlockHost`] for the little a hook
//! needs from the app (committed history, running messages as governance).
//! The host is a trait object so a module depends on no other module and on
//! neither the app nor the store.
//!
//! Queries ([`QueryHandler`]) see one [`QueryCtx`]: the committed state
//! asked about, its height, history, and the few chain-wide facts routers
//! need (gas costs, the module accounts).
//!
//! Messages ([`MsgHandler`]): a module lists the type URLs it handles and
//! decodes an `Any` of one of them, with every stateless check, into a
//! [`ModuleMsg`], which names its signer and executes against state with a
//! [`MsgCtx`]: the block's height, the previous app hash, committed history
//! and a [`MsgHost`] for the glue between modules that the app owns (a
//! recipient of tokens gets an account, the governance account's address,
//! a treasury-funded payment counted against the treasury's cap). Decoding
//! sees a [`DecodeCtx`], through which governance decodes the messages a
//! proposal carries with the same registry. Failures are [`MsgError`]s,
//! which read exactly as the app's transaction errors.
//!
//! Genesis ([`GenesisHandler`]): a module names the `app_state` field its
//! section sits under, checks the section, and writes it into state; the
//! genesis crate walks the registry for InitChain and refuses any field no
//! module (and no validator list) claims. Export needs nothing of a module
//! but its key prefix (`<name>/`) and [`GenesisHandler::check_state`]: the
//! genesis crate copies the module's entries as they are.

use std::collections::BTreeMap;

use cosmos_sdk_proto::Any;

use crate::{
    Address, Coin, Event, GasConfig, MsgError, QueryError, StateError, StateRead, StateWrite,
};

/// The module account (`Address::module(FEE_COLLECTOR)`) the ante handler
/// pays transaction fees into, and the treasury takes its share from.
pub const FEE_COLLECTOR: &str = "fee_collector";

/// A point in time as protobuf's `Timestamp` holds it: seconds since the
/// Unix epoch and nanoseconds within the second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlockTime {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds past `seconds`, below 1_000_000_000.
    pub nanos: u32,
}

/// How a validator took part in the decided last commit (CometBFT's `BlockIDFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteFlag {
    /// No vote of this validator was received.
    Absent,
    /// The validator voted for the block.
    Commit,
    /// The validator voted nil.
    Nil,
}

impl VoteFlag {
    /// Whether the validator signed (for the block or nil), as the Cosmos SDK
    /// counts liveness: only an absent vote is a missed one.
    pub fn signed(self) -> bool {
        !matches!(self, VoteFlag::Absent)
    }
}

/// One validator of the last validator set and its vote in the last commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitVote {
    /// The validator's consensus address (20 bytes: SHA-256 of its key, truncated).
    pub validator: Vec<u8>,
    /// Its voting power.
    pub power: u64,
    /// How it voted.
    pub flag: VoteFlag,
}

/// The kind of a piece of misbehaviour evidence (CometBFT's `MisbehaviorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MisbehaviorKind {
    /// A kind this app does not know.
    Unknown,
    /// Two votes for different blocks at the same height and round.
    DuplicateVote,
    /// An attack on a light client.
    LightClientAttack,
}

/// Evidence that a validator misbehaved, as CometBFT reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misbehavior {
    /// What it did.
    pub kind: MisbehaviorKind,
    /// The validator's consensus address.
    pub validator: Vec<u8>,
    /// Its voting power at `height`.
    pub power: u64,
    /// The height of the offence.
    pub height: u64,
    /// The time of the offence.
    pub time: BlockTime,
    /// The validator set's total voting power at `height`.
    pub total_voting_power: u64,
}

/// What consensus decided about a block, as `FinalizeBlock` carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockInfo {
    /// The block's height.
    pub height: u64,
    /// The block's time (its header's).
    pub time: BlockTime,
    /// The proposer's consensus address.
    pub proposer: Vec<u8>,
    /// The hash of the validator set of the next block (the header's).
    pub next_validators_hash: Vec<u8>,
    /// The votes of the last commit, one per validator of the last set, in set order.
    pub last_commit: Vec<CommitVote>,
    /// Misbehaviour evidence the block carries.
    pub misbehavior: Vec<Misbehavior>,
}

impl BlockInfo {
    /// A block at `height` about which nothing else is known (no proposer,
    /// no votes, time zero): for tools and tests that only number blocks.
    pub fn at(height: u64) -> Self {
        BlockInfo {
            height,
            ..Default::default()
        }
    }
}

/// What block hooks may ask of the app.
pub trait BlockHost {
    /// The state committed at the end of block `height`; the error says why
    /// it cannot be read (pruned, storage failure).
    fn history(&self, height: u64) -> Result<Box<dyn StateRead + '_>, String>;
    /// What is no one's voting power here (see [`NonVoting`]).
    fn non_voting(&self) -> NonVoting;
    /// Whether genesis named validators outside staking (a fixed list): if
    /// not, staking's set is CometBFT's whole set and must never empty.
    fn has_fixed_validators(&self) -> bool;
    /// The chain id.
    fn chain_id(&self) -> String;
    /// Runs `messages` as the governance account at block `height`, all or
    /// nothing: on `Err` nothing has been written to `state`.
    fn execute_as_governance(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        messages: &[Any],
    ) -> Result<Vec<Event>, String>;
}

/// Everything a block hook sees besides state.
pub struct BlockCtx<'a> {
    /// What consensus decided about the block.
    pub info: &'a BlockInfo,
    /// The app hash after the previous block (empty before the first).
    pub prev_app_hash: &'a [u8],
    /// The fees the block's transactions paid, by denom (empty at begin block).
    pub fees: &'a BTreeMap<String, u128>,
    /// The app's services.
    pub host: &'a dyn BlockHost,
}

impl BlockCtx<'_> {
    /// The block's height.
    pub fn height(&self) -> u64 {
        self.info.height
    }
}

/// A block hook failed: the node's own fault (storage, missing history),
/// never something a user put in state. It stops the block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HookError(pub String);

/// A module's work at the start and end of every block. Both default to doing nothing.
pub trait BlockHooks {
    /// Runs before the block's transactions.
    fn begin_block(
        &self,
        _state: &mut dyn StateWrite,
        _ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        Ok(Vec::new())
    }

    /// Runs after the block's transactions.
    fn end_block(
        &self,
        _state: &mut dyn StateWrite,
        _ctx: &BlockCtx<'_>,
    ) -> Result<Vec<Event>, HookError> {
        Ok(Vec::new())
    }

    /// The changes to CometBFT's validator set this block makes, with their
    /// events; runs after every module's `end_block`. One module (staking)
    /// owns the set: the app refuses updates from a second.
    fn validator_updates(
        &self,
        _state: &mut dyn StateWrite,
        _ctx: &BlockCtx<'_>,
    ) -> Result<(Vec<ValidatorUpdate>, Vec<Event>), HookError> {
        Ok((Vec::new(), Vec::new()))
    }
}

/// A change to the validator set, as `FinalizeBlock` returns it to
/// CometBFT: the validator's ed25519 key and its new power (0 removes it).
/// It takes effect two heights later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatorUpdate {
    /// The ed25519 consensus public key.
    pub pub_key: [u8; 32],
    /// The new voting power; 0 removes the validator.
    pub power: u64,
}

/// The committed state at the end of a height, or why it cannot be read.
pub type History<'a> = dyn Fn(u64) -> Result<Box<dyn StateRead + 'a>, String> + 'a;

/// Everything a query router sees besides the request.
pub struct QueryCtx<'a> {
    /// The committed state the query reads.
    pub state: &'a dyn StateRead,
    /// The height of that state.
    pub height: u64,
    /// The chain id, as InitChain recorded it (empty before InitChain); IBC
    /// reads its revision number (`deai-1` is revision 1) for the heights
    /// its answers are proven at.
    pub chain_id: &'a str,
    /// The state committed at the end of an earlier height (a height past
    /// [`QueryCtx::height`] reads as `height`'s).
    pub history: &'a History<'a>,
    /// The gas costs the chain charges.
    pub gas: GasConfig,
    /// The names of the module accounts, each at `Address::module(name)`.
    pub module_accounts: &'a [&'a str],
    /// What is no one's voting power here (see [`NonVoting`]).
    pub non_voting: &'a NonVoting,
}

/// An amount of the base denom a module holds here for people elsewhere
/// (tokens escrowed for another chain's vouchers), so no one's voting power
/// on this chain.
#[derive(Clone, Copy, Debug)]
pub struct HeldElsewhere {
    /// Reads the amount from a committed state.
    pub read: fn(&dyn StateRead) -> Result<u128, StateError>,
    /// The key prefix `read` reads under: an export carries it at every
    /// past height a module's pending work reads (governance's tallies
    /// compute the total power there).
    pub prefix: &'static [u8],
}

/// What governance leaves out of the total voting power: the balances of
/// `accounts` (module accounts holding fees, deposits, the treasury; not
/// the staking pools, whose tokens are delegators' stake), and the amounts
/// `held_elsewhere` reads.
#[derive(Clone, Debug, Default)]
pub struct NonVoting {
    /// Accounts whose balances are no one's voting power.
    pub accounts: Vec<Address>,
    /// Readers of base-denom amounts held for people on other chains.
    pub held_elsewhere: Vec<HeldElsewhere>,
}

impl NonVoting {
    /// The total `held_elsewhere` reads from `state`.
    pub fn held_elsewhere(&self, state: &dyn StateRead) -> Result<u128, StateError> {
        let mut total: u128 = 0;
        for h in &self.held_elsewhere {
            total = total.saturating_add((h.read)(state)?);
        }
        Ok(total)
    }
}

impl From<Vec<Address>> for NonVoting {
    fn from(accounts: Vec<Address>) -> Self {
        NonVoting {
            accounts,
            held_elsewhere: Vec::new(),
        }
    }
}

/// A module's gRPC-style queries (`/package.Query/Method` with a protobuf request).
pub trait QueryHandler {
    /// Answers `method` if it is one of this module's; `None` if it is not.
    fn query(
        &self,
        _method: &str,
        _data: &[u8],
        _ctx: &QueryCtx<'_>,
    ) -> Option<Result<Vec<u8>, QueryError>> {
        None
    }
}

/// Longest type URL echoed back in an error: the URL is the sender's bytes.
const MAX_ECHOED_TYPE_URL: usize = 128;

/// `type_url`, cut short (at 128 characters) for error messages and logs.
pub fn shown_type_url(type_url: &str) -> String {
    match type_url.char_indices().nth(MAX_ECHOED_TYPE_URL) {
        Some((i, _)) => format!("{}…", &type_url[..i]),
        None => type_url.to_string(),
    }
}

/// Decodes the protobuf message `M` packed in `any`; a failure is a
/// [`MsgError::Decode`] naming the type URL.
pub fn decode_any<M: prost::Message + Default>(any: &Any) -> Result<M, MsgError> {
    M::decode(any.value.as_slice())
        .map_err(|e| MsgError::Decode(format!("{}: {e}", shown_type_url(&any.type_url))))
}

/// What decoding may ask of the app: decoding the messages a governance
/// proposal carries, through the same registry.
pub trait MsgDecoder {
    /// Decodes and checks a message a proposal carries, as the app decodes
    /// a transaction's (its module's checks, and no module account among
    /// its recipients), one level down: a message decoded here sees
    /// [`DecodeCtx::in_proposal`] set, so it may not carry others.
    fn decode_in_proposal(&self, any: &Any) -> Result<Box<dyn ModuleMsg>, MsgError>;
}

/// Everything decoding a message sees besides its bytes.
pub struct DecodeCtx<'a> {
    /// Whether the message is carried by a proposal rather than a transaction.
    pub in_proposal: bool,
    /// The app's decoder, for messages that carry messages.
    pub decoder: &'a dyn MsgDecoder,
}

/// The state committed at the end of an earlier height, `None` for the
/// block being executed (whose state is the one being written), or why it
/// cannot be read.
pub type MsgHistory<'a> = dyn Fn(u64) -> Result<Option<Box<dyn StateRead + 'a>>, String> + 'a;

/// The glue between modules that messages need and the app owns, so that
/// no module depends on another.
pub trait MsgHost {
    /// The governance account: the authority of parameter changes.
    fn gov_authority(&self) -> Address;
    /// Whether `key` is the consensus key of a validator genesis named
    /// (outside staking): a staked validator may not take it over.
    fn is_genesis_validator_key(
        &self,
        state: &dyn StateRead,
        key: &[u8; 32],
    ) -> Result<bool, MsgError>;
    /// Gives `addr` an account if it has none (a recipient of tokens gets
    /// one, as in the Cosmos SDK).
    fn ensure_account(&self, state: &mut dyn StateWrite, addr: &Address) -> Result<(), MsgError>;
    /// Whether `addr` is a module account, which nothing may pay directly
    /// (it holds exactly what its module accounts for): IBC refuses to
    /// deliver transfers to one.
    fn is_module_account(&self, addr: &Address) -> bool;
    /// The chain id, as InitChain recorded it (IBC's host needs it; a host
    /// without one refuses).
    fn chain_id(&self, _state: &dyn StateRead) -> Result<String, MsgError> {
        Err(MsgError::Internal("this host has no chain id".into()))
    }
    /// Counts `amount`, paid out of the treasury's account by another
    /// module to `recipient` at `height`, against the treasury's spending
    /// cap and records it in the treasury's spend history, as `kind` (and
    /// `stream_id`, 0 for none). Returns the treasury's event.
    fn record_treasury_spend(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        recipient: &Address,
        amount: &[Coin],
        kind: &str,
        stream_id: u64,
    ) -> Result<Event, MsgError>;
}

/// Everything a message's execution sees besides state.
pub struct MsgCtx<'a> {
    /// The height of the block being executed.
    pub height: u64,
    /// The block's time (its header's; zero in a simulation).
    pub time: BlockTime,
    /// The app hash after the previous block (empty before the first).
    pub prev_app_hash: &'a [u8],
    /// The state committed at the end of an earlier block.
    pub history: &'a MsgHistory<'a>,
    /// The app's glue between modules.
    pub host: &'a dyn MsgHost,
}

impl MsgCtx<'_> {
    /// Refuses `msg` unless the governance account signs it.
    pub fn require_governance(&self, msg: &dyn ModuleMsg) -> Result<(), MsgError> {
        let authority = self.host.gov_authority();
        if msg.signer() != authority {
            return Err(MsgError::Unauthorized(format!(
                "{} may only be executed by the governance account {authority}, not {}",
                msg.type_url(),
                msg.signer()
            )));
        }
        Ok(())
    }
}

/// A decoded message that passed its stateless checks.
pub trait ModuleMsg: std::fmt::Debug + Send + Sync {
    /// Its type URL, the `message` event's `action`.
    fn type_url(&self) -> &'static str;
    /// The address that must sign it (for governance actions, the authority).
    fn signer(&self) -> Address;
    /// The module that executes it, the `message` event's `module`.
    fn module(&self) -> &'static str;
    /// Whether a passed proposal may execute it: parameter changes and
    /// treasury spending, never anything that would move the deposits the
    /// governance account holds.
    fn is_governance_action(&self) -> bool {
        false
    }
    /// Whether the treasury pays for it, so that only a passed proposal can
    /// send it (no key signs for the treasury's account) and it acts with
    /// governance's authority without the governance account signing.
    fn paid_by_treasury(&self) -> bool {
        false
    }
    /// The accounts it pays directly. The app refuses module accounts here:
    /// they hold exactly what their module accounts for.
    fn recipients(&self) -> Vec<Address> {
        Vec::new()
    }
    /// Gas for work it makes every validator do outside the store (the
    /// signature checks of a light-client header it carries), charged with
    /// the transaction's bytes, before any message runs.
    fn execution_gas(&self, _gas: &GasConfig) -> u64 {
        0
    }
    /// Executes it against `state` (a scratch layer the app drops on
    /// failure), returning its events.
    fn execute(&self, state: &mut dyn StateWrite, ctx: &MsgCtx<'_>)
        -> Result<Vec<Event>, MsgError>;
}

/// A module's messages: which type URLs it handles and how they decode.
pub trait MsgHandler {
    /// The type URLs of the messages it handles.
    fn msg_type_urls(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether it handles `type_url` (by default: whether it is listed).
    fn handles_msg(&self, type_url: &str) -> bool {
        self.msg_type_urls().contains(&type_url)
    }

    /// Decodes `any`, a message of a type it handles, with its stateless checks.
    fn decode_msg(&self, any: &Any, _ctx: &DecodeCtx<'_>) -> Result<Box<dyn ModuleMsg>, MsgError> {
        Err(MsgError::UnknownMessage(shown_type_url(&any.type_url)))
    }
}

/// A module's section of genesis `app_state`. By default a module has none.
///
/// A section absent from `app_state` reads as `{}`, so a section whose
/// fields all have defaults may be left out.
pub trait GenesisHandler {
    /// The `app_state` field its section sits under; `None` if it has none.
    fn genesis_key(&self) -> Option<&'static str> {
        None
    }

    /// Its section as a new genesis writes it (the defaults), for the tools
    /// to show and edit; `{}` by default.
    fn default_genesis(&self) -> serde_json::Value {
        serde_json::Value::Object(serde_json::Map::new())
    }

    /// Checks its section without state: it parses, and what it lists is
    /// consistent. The error says what is wrong (the caller names the field).
    fn validate_genesis(&self, _section: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    /// Writes its section into `state`, after every module listed before it
    /// in the registry has written its own.
    fn init_genesis(
        &self,
        _state: &mut dyn StateWrite,
        _section: &serde_json::Value,
    ) -> Result<(), String> {
        Ok(())
    }

    /// The past states the module's pending work will still read through
    /// history (governance: voting power at each open vote's start), so
    /// that an export carries them to a chain that has no such heights.
    fn history_needed(&self, _state: &dyn StateRead) -> Result<Vec<HistoryNeed>, String> {
        Ok(Vec::new())
    }

    /// Checks the module's books in `state` as a whole (a genesis of
    /// exported state is written byte for byte, then checked here). May
    /// scan all of the module's state: for genesis and operator tools,
    /// never for blocks.
    fn check_state(&self, _state: &dyn StateRead) -> Result<(), String> {
        Ok(())
    }
}

/// Part of a past state that a module's pending work will read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryNeed {
    /// The height whose committed state is read.
    pub height: u64,
    /// The key prefixes read there.
    pub prefixes: Vec<Vec<u8>>,
}

/// Parses a genesis section into the module's typed form `G`.
pub fn genesis_section<G: serde::de::DeserializeOwned>(
    section: &serde_json::Value,
) -> Result<G, String> {
    G::deserialize(section).map_err(|e| e.to_string())
}

/// The section methods of a [`GenesisHandler`] whose section is the typed
/// value `$section` (serde, `Default`, with `validate(&self)` and
/// `init(&self, &mut impl StateWrite)` returning a displayable error) under
/// genesis key `$key`: its key, its default, its check and its write. Used
/// inside `impl GenesisHandler for …`, beside whatever else the module
/// needs (`check_state`, `history_needed`); the crate must depend on
/// `serde_json`.
#[macro_export]
macro_rules! typed_genesis_section {
    ($key:expr, $section:ty) => {
        fn genesis_key(&self) -> Option<&'static str> {
            Some($key)
        }

        fn default_genesis(&self) -> ::serde_json::Value {
            ::serde_json::to_value(<$section>::default()).unwrap_or_default()
        }

        fn validate_genesis(&self, section: &::serde_json::Value) -> Result<(), String> {
            $crate::module::genesis_section::<$section>(section)?
                .validate()
                .map_err(|e| e.to_string())
        }

        fn init_genesis(
            &self,
            mut state: &mut dyn $crate::StateWrite,
            section: &::serde_json::Value,
        ) -> Result<(), String> {
            $crate::module::genesis_section::<$section>(section)?
                .init(&mut state)
                .map_err(|e| e.to_string())
        }
    };
}

/// An account a module owns, at `Address::module(name)`: it holds exactly
/// what its module accounts for, so no send, spend or stream may pay it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleAccount {
    /// Its name.
    pub name: &'static str,
    /// Whether its balance is someone's voting power (the staking pools
    /// hold delegators' stake); if not, governance's total leaves it out.
    pub voting: bool,
}

/// A module as the app composes it.
pub trait Module: BlockHooks + QueryHandler + MsgHandler + GenesisHandler + Send + Sync {
    /// The module's name, as in its state keys and codespace.
    fn name(&self) -> &'static str;

    /// The module accounts it owns (none by default).
    fn module_accounts(&self) -> &'static [ModuleAccount] {
        &[]
    }

    /// Key prefixes besides `<name>/` under which it keeps state (none by
    /// default): IBC keeps its provable state under `ibc/` and its own
    /// records under `ibchost/`.
    fn other_key_prefixes(&self) -> &'static [&'static str] {
        &[]
    }

    /// Base-denom amounts it holds for people elsewhere, left out of
    /// governance's total voting power (none by default).
    fn held_elsewhere(&self) -> &'static [HeldElsewhere] {
        &[]
    }
}

/// A module's parameters as a governance-only `MsgUpdateParams` replaces
/// them: what [`UpdateParams`] needs to know of them.
pub trait GovernedParams: std::fmt::Debug + Send + Sync + 'static {
    /// The owning module, named in the `message` event.
    const MODULE: &'static str;
    /// The type URL of the module's `MsgUpdateParams`.
    const TYPE_URL: &'static str;
    /// The (empty) typed event the update emits, such as
    /// `deai.auth.v1.EventAuthParamsUpdated` (kind `auth_params_updated`).
    type UpdatedEvent: prost::Name + prost::Message + Default;
    /// Writes the parameters into state.
    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError>;
}

/// A checked `MsgUpdateParams` of the module owning `P`: the parameters are
/// present and valid; the authority is checked on execution (only the
/// governance account may set them, through a proposal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateParams<P> {
    /// Must be the governance account.
    pub authority: Address,
    /// The new parameters, already validated.
    pub params: P,
}

impl<P> UpdateParams<P> {
    /// The stateless checks: `params` present and passing `validate`,
    /// `authority` an address.
    pub fn checked(
        authority: &str,
        params: Option<P>,
        validate: impl FnOnce(&P) -> Result<(), MsgError>,
    ) -> Result<Self, MsgError> {
        let params = params.ok_or_else(|| MsgError::InvalidRequest("params missing".into()))?;
        validate(&params)?;
        let authority = authority
            .parse()
            .map_err(|e| MsgError::InvalidRequest(format!("authority: {e}")))?;
        Ok(UpdateParams { authority, params })
    }
}

impl<P: GovernedParams> ModuleMsg for UpdateParams<P> {
    fn type_url(&self) -> &'static str {
        P::TYPE_URL
    }

    fn signer(&self) -> Address {
        self.authority
    }

    fn module(&self) -> &'static str {
        P::MODULE
    }

    fn is_governance_action(&self) -> bool {
        true
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        ctx.require_governance(self)?;
        self.params.store(state)?;
        Ok(vec![Event::typed(&P::UpdatedEvent::default())])
    }
}
