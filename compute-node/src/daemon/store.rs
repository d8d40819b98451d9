//! The daemon's memory of its work in progress: one JSON file per provider
//! under its home, rewritten atomically (temporary file, fsync, rename) after
//! every change, so a restart neither loses a salt it committed to nor
//! submits a commitment twice.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
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

/// Largest store file read back. Each job holds at most a reveal's output (the chain caps
/// `max_output_bytes` at 1 MiB, 2 MiB in hex), so this is hundreds of jobs in progress;
/// a larger file is not one this daemon wrote, and is refused rather than read whole.
pub const MAX_STORE_BYTES: u64 = 1 << 30;

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
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let jobs = match read_bounded(path, MAX_STORE_BYTES) {
            Ok(bytes) => {
                let f: File = serde_json::from_slice(&bytes)
                    .with_context(|| format!("parsing {}", path.display()))?;
                f.jobs
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
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

    /// Writes the file atomically: a temporary file beside it, fsynced, renamed over it.
    fn save(&self) -> anyhow::Result<()> {
        let dir = self
            .path
            .parent()
            .context("the store path has no parent directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&File {
            version: 1,
            jobs: self.jobs.clone(),
        })?;
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), self.path.display()))?;
        Ok(())
    }
}

/// Reads the file at `path`, refusing one longer than `max` bytes before reading it.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the {max} a store may hold"),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take`: the file may grow between the length check and the read.
    file.take(max).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_file_beyond_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, br#"{"version":1,"jobs":{}}"#).unwrap();
        assert!(read_bounded(&path, 64).is_ok());
        let e = read_bounded(&path, 8).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(Store::load(&path).unwrap().ids().is_empty());
    }

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
        assert!(!path.with_extension("json.tmp").exists());
        let mut back = back;
        back.remove(7).unwrap();
        assert!(Store::load(&path).unwrap().ids().is_empty());
    }
}
