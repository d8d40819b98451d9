//! The daemon's memory of its work in progress: one JSON file per provider
//! under its home, rewritten after every change through the client's salt
//! store (mode 0600, atomic replace, fsynced), so a restart neither loses a
//! salt it committed to nor submits a commitment twice.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use deai_client::salt_store;
use serde::{Deserialize, Serialize};

/// Where a job stands for this provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Result computed and salt drawn; the commitment is not known to be on chain.
    Computed,
    /// The chain holds our commitment.
    Committed,
    /// The chain holds our reveal; waiting for settlement.
    Revealed,
    /// This node cannot run the job for a reason of its own (a kind nobody implements, a
    /// model it does not hold, a kernel failure); nothing sent. Invalid inputs are not
    /// skipped: they are answered with the invalid-input result, like any result.
    Skipped,
    /// The job cannot be completed any more (deadline missed, salt lost); nothing more to send.
    Abandoned,
}

/// One job this provider was assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingJob {
    /// The job id.
    pub job_id: u64,
    /// Where it stands.
    pub phase: Phase,
    /// The result hash committed to, hex.
    #[serde(default)]
    pub result_hash: String,
    /// The commitment's salt, hex.
    #[serde(default)]
    pub salt: String,
    /// The output revealed with the result (empty when too large for a reveal), hex.
    #[serde(default)]
    pub output: String,
    /// Last height at which the chain accepts the commitment.
    pub commit_deadline: u64,
    /// Last height at which the chain accepts the reveal.
    pub reveal_deadline: u64,
    /// Why the job was skipped or abandoned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    jobs: BTreeMap<u64, PendingJob>,
}

/// The persisted set of jobs in progress.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    jobs: BTreeMap<u64, PendingJob>,
}

impl Store {
    /// Loads the store at `path`, or an empty one if the file does not exist.
    /// A file others can read, or one that does not parse, is refused.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let jobs = salt_store::load::<File>(path, salt_store::MAX_BYTES)?
            .map(|f| f.jobs)
            .unwrap_or_default();
        Ok(Store {
            path: path.to_path_buf(),
            jobs,
        })
    }

    /// The job `id`, if known.
    pub fn get(&self, id: u64) -> Option<&PendingJob> {
        self.jobs.get(&id)
    }

    /// Every known job id, in order.
    pub fn ids(&self) -> Vec<u64> {
        self.jobs.keys().copied().collect()
    }

    /// Records `job` and saves the file.
    pub fn put(&mut self, job: PendingJob) -> anyhow::Result<()> {
        self.jobs.insert(job.job_id, job);
        self.save()
    }

    /// Forgets job `id` and saves the file.
    pub fn remove(&mut self, id: u64) -> anyhow::Result<()> {
        if self.jobs.remove(&id).is_some() {
            self.save()?;
        }
        Ok(())
    }

    /// Writes the file atomically, owner-only.
    fn save(&self) -> anyhow::Result<()> {
        Ok(salt_store::save(
            &self.path,
            &File {
                version: 1,
                jobs: self.jobs.clone(),
            },
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_store_loads_back_with_its_salts_and_phases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let mut s = Store::load(&path).unwrap();
        s.put(PendingJob {
            job_id: 7,
            phase: Phase::Committed,
            result_hash: "ab".repeat(32),
            salt: "cd".repeat(32),
            output: "00ff".into(),
            commit_deadline: 10,
            reveal_deadline: 20,
            note: String::new(),
        })
        .unwrap();
        let back = Store::load(&path).unwrap();
        assert_eq!(back.get(7), s.get(7));
        assert!(!salt_store::temp_path(&path).exists());
        let mut back = back;
        back.remove(7).unwrap();
        assert!(Store::load(&path).unwrap().ids().is_empty());
    }
}
