//! Private JSON files for the secrets of commit/reveal: until a result is
//! revealed, its salt is all that keeps it hidden, and once committed, a
//! lost salt can never be revealed. Both the CLI (`deaid tx compute
//! commit`, one file per job under `<home>/compute/salts/`) and the compute
//! daemon (one file per provider under `<home>/compute-node/`) keep their
//! salts through this module.
//!
//! A file is created with mode 0600 (never widened and then narrowed) and
//! replaced atomically: a temporary file beside it is written, fsynced and
//! renamed over it, then the directory is fsynced, so a crash leaves either
//! the old content or the new one. A file that group or others may read is
//! refused rather than trusted, and so is one that does not parse.

use std::{
    fs::File,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use serde::{de::DeserializeOwned, Serialize};

/// Largest file read back: a reveal's output is at most 1 MiB (2 MiB in hex),
/// so this is hundreds of jobs in progress. A larger file is not one we
/// wrote, and is refused rather than read whole.
pub const MAX_BYTES: u64 = 1 << 30;

/// Why a salt file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SaltStoreError {
    /// The file system refused a step.
    #[error("{doing} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "creating", …).
        doing: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// Group or others have access to the file: its salts may have leaked.
    #[error(
        "{} holds secret salts but is accessible to group or others (mode {mode:o}); \
         check who could have read it, then `chmod 600` it",
        path.display()
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is larger than [`MAX_BYTES`] (or the bound given).
    #[error("{} is {len} bytes, more than the {max} a salt file may hold", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
        /// The bound.
        max: u64,
    },
    /// The file is not the JSON expected: cut short or written by something else.
    #[error("{} is corrupt: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser found.
        source: serde_json::Error,
    },
    /// The value could not be written as JSON.
    #[error("encoding salts as JSON: {0}")]
    Encode(serde_json::Error),
}

fn io(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SaltStoreError {
    let path = path.to_path_buf();
    move |source| SaltStoreError::Io {
        doing,
        path,
        source,
    }
}

/// Reads the JSON file at `path`; `None` if it does not exist. Refuses a
/// file larger than `max` bytes (before reading it), one that group or
/// others can access, and one that does not parse.
pub fn load<T: DeserializeOwned>(path: &Path, max: u64) -> Result<Option<T>, SaltStoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("opening", path)(e)),
    };
    let meta = file.metadata().map_err(io("reading", path))?;
    check_private(path, &meta)?;
    let len = meta.len();
    if len > max {
        return Err(SaltStoreError::TooLarge {
            path: path.to_path_buf(),
            len,
            max,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take`: the file may grow between the length check and the read.
    file.take(max)
        .read_to_end(&mut bytes)
        .map_err(io("reading", path))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| SaltStoreError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), SaltStoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SaltStoreError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::Metadata) -> Result<(), SaltStoreError> {
    Ok(())
}

/// Writes `value` as JSON to `path` atomically, mode 0600, creating its
/// directory (mode 0700) if needed.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), SaltStoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(SaltStoreError::Encode)?;
    save_with(path, &bytes, |f, b| f.write_all(b))
}

/// The temporary file `save` writes before renaming it over `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// [`save`] with the write step given, so tests can make it fail midway.
fn save_with(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> Result<(), SaltStoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let tmp = temp_path(path);
    // A temporary file left by a crash may have any mode: start afresh, so
    // the one written is created 0600.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("removing", &tmp)(e)),
    }
    let mut f = create_private(&tmp).map_err(io("creating", &tmp))?;
    let written = write(&mut f, bytes)
        .and_then(|()| f.sync_all())
        .map_err(io("writing", &tmp));
    drop(f);
    if let Err(e) = written {
        // The old file is untouched; don't leave half a secret beside it.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io("replacing", path))?;
    // The rename is durable only once the directory is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing", dir))
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn create_private_dir(dir: &Path) -> Result<(), SaltStoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io("creating", dir))
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::{collections::BTreeMap, os::unix::fs::PermissionsExt};

    use super::*;

    type Salts = BTreeMap<u64, String>;

    fn salts(n: u64) -> Salts {
        (0..n).map(|i| (i, format!("{i:064x}"))).collect()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_salt_file_is_created_owner_only_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/dir/salts.json");
        assert!(load::<Salts>(&path, MAX_BYTES).unwrap().is_none());
        save(&path, &salts(3)).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(load::<Salts>(&path, MAX_BYTES).unwrap(), Some(salts(3)));
        assert!(!temp_path(&path).exists());
        // Replaced, it stays owner-only.
        save(&path, &salts(5)).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(load::<Salts>(&path, MAX_BYTES).unwrap(), Some(salts(5)));
    }

    #[test]
    fn a_write_that_fails_midway_leaves_the_old_salts_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salts.json");
        save(&path, &salts(2)).unwrap();
        let new = serde_json::to_vec(&salts(9)).unwrap();
        let e = save_with(&path, &new, |f, b| {
            f.write_all(&b[..b.len() / 2])?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert_eq!(load::<Salts>(&path, MAX_BYTES).unwrap(), Some(salts(2)));
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn a_save_that_cannot_create_its_temporary_file_leaves_the_old_salts_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salts.json");
        save(&path, &salts(2)).unwrap();
        // Something in the way of the temporary file (a read-only directory
        // would do too, but not for root, who writes anywhere).
        std::fs::create_dir(temp_path(&path)).unwrap();
        std::fs::write(temp_path(&path).join("x"), b"x").unwrap();
        assert!(save(&path, &salts(9)).is_err());
        assert_eq!(load::<Salts>(&path, MAX_BYTES).unwrap(), Some(salts(2)));
    }

    #[test]
    fn a_stale_temporary_file_of_any_mode_is_replaced_by_an_owner_only_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salts.json");
        std::fs::write(temp_path(&path), b"half").unwrap();
        std::fs::set_permissions(temp_path(&path), std::fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &salts(1)).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn a_salt_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salts.json");
        save(&path, &salts(1)).unwrap();
        for m in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
            let e = load::<Salts>(&path, MAX_BYTES).unwrap_err();
            assert!(
                matches!(e, SaltStoreError::Exposed { mode, .. } if mode == m),
                "{e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(&format!("mode {m:o}")), "{msg}");
            assert!(msg.contains("chmod 600"), "{msg}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(load::<Salts>(&path, MAX_BYTES).unwrap(), Some(salts(1)));
    }

    #[test]
    fn a_corrupt_salt_file_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salts.json");
        save(&path, &salts(4)).unwrap();
        // Cut short, as by a write that bypassed this module.
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let e = load::<Salts>(&path, MAX_BYTES).unwrap_err();
        assert!(matches!(e, SaltStoreError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("salts.json is corrupt"), "{e}");
    }

    #[test]
    fn a_salt_file_beyond_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salts.json");
        save(&path, &salts(1)).unwrap();
        assert!(load::<Salts>(&path, 1 << 20).is_ok());
        let e = load::<Salts>(&path, 8).unwrap_err();
        assert!(matches!(e, SaltStoreError::TooLarge { max: 8, .. }), "{e}");
    }
}
