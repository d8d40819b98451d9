//! The daemon's view of the chain: the compute module's queries it needs
//! and one path for signing and sending a transaction. Transactions are sent
//! one at a time and each waits for its block, so the account sequence read
//! from the chain before every transaction is always the next one to use.
//!
//! Gas is estimated per transaction by default (the app's Simulate query,
//! times an adjustment): a reveal's cost grows with the job record, which
//! holds every earlier reveal's output, so no fixed limit suits every job.
//! Without `--fees` the fee is the chain's minimum for the gas limit.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use cosmos_sdk_proto::Any;
use deai_auth::AuthParams;
use deai_client::{
    send::{Landed, SignedTx},
    tx::{any, Key, TxParams},
    Gas, NodeClient,
};
use deai_compute_module::query::{JOBS_PATH, JOB_PATH, PARAMS_PATH, PROVIDER_PATH};
use deai_proto::compute::v1 as pb;
use deai_types::{Address, Coin};

/// How long a sent transaction may take to land in a block. Short: the chain
/// is the daemon's truth, and the next step reads what landed from there.
const INCLUSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a transaction landed and what it cost.
#[derive(Debug, Clone, Copy)]
pub struct Included {
    /// The block height.
    pub height: u64,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// A connection to the node, with the provider's key.
pub struct Chain {
    client: NodeClient,
    key: Key,
    address: Address,
    bech32: String,
    chain_id: String,
    fee: Option<Coin>,
    gas: Gas,
    /// The chain's auth params, for the minimum fee of a gas limit.
    auth: AuthParams,
}

/// Most pages of 100 assigned jobs [`Chain::my_assigned_jobs`] reads (a million jobs,
/// far more than a chain assigns at once: every job in that state is in its short commit
/// or reveal window).
pub const MAX_JOB_PAGES: usize = 10_000;

/// The auth module's parameters (the minimum gas price).
const AUTH_PARAMS_PATH: &str = "/deai.auth.v1.Query/Params";

/// Whether a query error says the thing asked for does not exist.
fn is_not_found(e: &anyhow::Error) -> bool {
    e.to_string().contains("NotFound")
}

impl Chain {
    /// Connects to `node` and learns its chain id.
    pub async fn connect(
        node: &str,
        key: Key,
        fee: Option<Coin>,
        gas: Gas,
    ) -> anyhow::Result<Self> {
        let client = NodeClient::new(node)?;
        let (chain_id, _) = client.status().await?;
        let params = client
            .ask::<_, deai_proto::auth::v1::QueryParamsResponse>(
                AUTH_PARAMS_PATH,
                &deai_proto::auth::v1::QueryParamsRequest {},
            )
            .await
            .context("reading the chain's minimum gas price")?
            .params
            .ok_or_else(|| anyhow!("the node returned no auth params"))?;
        let auth = AuthParams::from_proto(params);
        let address = key.address();
        Ok(Chain {
            client,
            bech32: address.to_bech32(),
            address,
            key,
            chain_id,
            fee,
            gas,
            auth,
        })
    }

    /// The provider's address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The provider's address, bech32.
    pub fn bech32(&self) -> &str {
        &self.bech32
    }

    /// The latest committed height.
    pub async fn height(&self) -> anyhow::Result<u64> {
        Ok(self.client.status().await?.1)
    }

    /// The compute module's parameters.
    pub async fn params(&self) -> anyhow::Result<pb::Params> {
        self.client
            .ask::<_, pb::QueryParamsResponse>(PARAMS_PATH, &pb::QueryParamsRequest {})
            .await?
            .params
            .ok_or_else(|| anyhow!("the node returned no compute params"))
    }

    /// This provider's record, if registered.
    pub async fn provider(&self) -> anyhow::Result<Option<pb::Provider>> {
        let req = pb::QueryProviderRequest {
            address: self.bech32.clone(),
        };
        match self
            .client
            .ask::<_, pb::QueryProviderResponse>(PROVIDER_PATH, &req)
            .await
        {
            Ok(resp) => Ok(resp.provider),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Assigned (commit or reveal phase) jobs that list this provider, by id.
    ///
    /// At most [`MAX_JOB_PAGES`] pages are read: a node whose pagination never ends
    /// gets an error, not a loop that holds every page it sends.
    pub async fn my_assigned_jobs(&self) -> anyhow::Result<Vec<pb::Job>> {
        let mut out = Vec::new();
        let mut key = Vec::new();
        for page in 0.. {
            if page == MAX_JOB_PAGES {
                bail!("more than {MAX_JOB_PAGES} pages of assigned jobs: the node's pagination does not end");
            }
            let req = pb::QueryJobsRequest {
                status: pb::JobStatus::Assigned as i32,
                pagination: Some(pb::PageRequest {
                    key: key.clone(),
                    limit: 100,
                }),
            };
            let resp: pb::QueryJobsResponse = self.client.ask(JOBS_PATH, &req).await?;
            out.extend(
                resp.jobs
                    .into_iter()
                    .filter(|j| j.assignments.iter().any(|a| a.provider == self.bech32)),
            );
            match resp.pagination.map(|p| p.next_key) {
                Some(next) if !next.is_empty() && next != key => key = next,
                _ => break,
            }
        }
        out.sort_by_key(|j| j.id);
        Ok(out)
    }

    /// Job `id`.
    pub async fn job(&self, id: u64) -> anyhow::Result<pb::Job> {
        self.client
            .ask::<_, pb::QueryJobResponse>(JOB_PATH, &pb::QueryJobRequest { job_id: id })
            .await?
            .job
            .ok_or_else(|| anyhow!("the node returned no job {id}"))
    }

    /// The signer's spendable udeai.
    pub async fn balance(&self) -> anyhow::Result<u128> {
        let coins = self.client.balances(&self.bech32).await?;
        Ok(coins
            .iter()
            .find(|c| c.denom == deai_types::BASE_DENOM)
            .and_then(|c| c.amount.parse().ok())
            .unwrap_or(0))
    }

    /// The transaction parameters for `msg` now: the account's number and
    /// sequence, the gas limit (simulated with `--gas auto`) and the fee. An
    /// error names what went wrong: no account yet, or the simulation failed.
    pub async fn prepare(&self, msg: &Any, what: &str) -> anyhow::Result<TxParams> {
        let acc = self.client.account(&self.bech32).await?.ok_or_else(|| {
            anyhow!(
                "account {} does not exist yet: send it tokens for fees and the bond",
                self.bech32
            )
        })?;
        let mut p = TxParams {
            chain_id: self.chain_id.clone(),
            account_number: acc.account_number,
            sequence: acc.sequence,
            fee: self.fee.clone(),
            gas_limit: 0,
            memo: String::new(),
        };
        p.gas_limit = self
            .client
            .gas_limit(&self.key, std::slice::from_ref(msg), &p, self.gas)
            .await
            .with_context(|| what.to_string())?;
        if p.fee.is_none() {
            p.fee = Some(Coin::new(
                self.auth.min_fee(p.gas_limit),
                &self.auth.fee_denom,
            ));
        }
        Ok(p)
    }

    /// Signs `msg` with `params` (from [`Chain::prepare`]), sends it and waits for its
    /// block. A tx refused by CheckTx or failed in its block is an error, with the app's log.
    pub async fn send_prepared(
        &self,
        msg: Any,
        params: TxParams,
        what: &str,
    ) -> anyhow::Result<Landed> {
        let tx = SignedTx::new(&self.key, vec![msg], params);
        let landed = self
            .client
            .send(&tx, INCLUSION_TIMEOUT)
            .await
            .with_context(|| what.to_string())?;
        if landed.code != 0 {
            bail!(
                "{what}: the tx failed in block {} (code {}, gas {} of {}): {}",
                landed.height,
                landed.code,
                landed.gas_used,
                landed.gas_wanted,
                landed.log
            );
        }
        tracing::debug!(
            height = landed.height,
            sequence = tx.params.sequence,
            gas_used = landed.gas_used,
            what,
            "tx included"
        );
        Ok(landed)
    }

    /// Signs `msg`, sends it and waits for its block. An error names what
    /// went wrong: no account yet, the simulation failed, refused by CheckTx,
    /// or failed in its block (with the app's log).
    pub async fn send(&self, msg: Any, what: &str) -> anyhow::Result<Included> {
        let params = self.prepare(&msg, what).await?;
        let landed = self.send_prepared(msg, params, what).await?;
        Ok(Included {
            height: landed.height,
            gas_used: landed.gas_used,
        })
    }
}

/// `MsgRegisterProvider` for `provider`.
pub fn msg_register(provider: &str, bond: u128, device: &str) -> Any {
    any(
        deai_compute_module::MSG_REGISTER_PROVIDER_TYPE_URL,
        &pb::MsgRegisterProvider {
            provider: provider.into(),
            bond: bond.to_string(),
            device: device.into(),
        },
    )
}

/// `MsgCommitResult`.
pub fn msg_commit(provider: &str, job_id: u64, commitment: &[u8; 32]) -> Any {
    any(
        deai_compute_module::MSG_COMMIT_RESULT_TYPE_URL,
        &pb::MsgCommitResult {
            provider: provider.into(),
            job_id,
            commitment: commitment.to_vec(),
        },
    )
}

/// `MsgRevealResult`.
pub fn msg_reveal(
    provider: &str,
    job_id: u64,
    result_hash: &[u8],
    salt: &[u8],
    output: &[u8],
) -> Any {
    any(
        deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
        &pb::MsgRevealResult {
            provider: provider.into(),
            job_id,
            result_hash: result_hash.to_vec(),
            salt: salt.to_vec(),
            output: output.to_vec(),
        },
    )
}
