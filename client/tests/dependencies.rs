//! The boundaries this crate exists for, checked on the real dependency
//! graph: the compute node talks to the chain through `deai-client` and links
//! no database, and neither this crate nor the consensus crate carries what
//! belongs to the other.

use std::process::Command;

/// The packages `package` links in a normal build (no dev or build
/// dependencies), by name.
fn normal_dependencies(package: &str, features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd.output().expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(
        names.iter().any(|n| n == package),
        "cargo tree did not list {package} itself: {names:?}"
    );
    names
}

fn assert_links_none(package: &str, features: &[&str], banned: &[&str]) {
    let names = normal_dependencies(package, features);
    let found: Vec<&str> = banned
        .iter()
        .copied()
        .filter(|b| names.iter().any(|n| n == b))
        .collect();
    assert!(
        found.is_empty(),
        "{package} links {found:?}; see `cargo tree -p {package} -e normal -i {}`",
        found[0]
    );
}

/// A store, the database under it, or the consensus crate that uses both.
const STORE: &[&str] = &["rocksdb", "librocksdb-sys", "jmt", "deai-app", "deai-store"];

#[test]
fn the_compute_node_links_no_store_no_database_and_not_the_app() {
    assert_links_none("deai-compute", &[], STORE);
}

#[test]
fn the_client_links_no_store_no_database_and_not_the_app() {
    assert_links_none("deai-client", &["rpc"], STORE);
}

#[test]
fn the_consensus_crate_carries_no_http_client() {
    assert_links_none("deai-app", &[], &["tendermint-rpc", "hyper", "reqwest"]);
}
