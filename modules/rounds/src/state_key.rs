//! Every state key the rounds module owns. All start with `rounds/`; ids
//! and heights are big-endian so keys sort in order.

use deai_types::Address;

const PREFIX: &str = "rounds/";

fn key_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(64);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// The next round id to hand out.
pub fn next_round_id() -> Vec<u8> {
    b"rounds/next_round_id".to_vec()
}

/// The next model version id to hand out.
pub fn next_version_id() -> Vec<u8> {
    b"rounds/next_version_id".to_vec()
}

/// How many rounds are open (not yet finished).
pub fn open_count() -> Vec<u8> {
    b"rounds/open_count".to_vec()
}

/// Prefix of every round record.
pub fn rounds_prefix() -> Vec<u8> {
    b"rounds/round/".to_vec()
}

/// A round record.
pub fn round(id: u64) -> Vec<u8> {
    key_of(&[&rounds_prefix(), &id.to_be_bytes()])
}

/// A round's evaluation set.
pub fn eval_set(id: u64) -> Vec<u8> {
    key_of(&[b"rounds/eval/", &id.to_be_bytes()])
}

/// Prefix of a round's contributors, by join index.
pub fn contributors_prefix(id: u64) -> Vec<u8> {
    key_of(&[b"rounds/contributor/", &id.to_be_bytes(), b"/"])
}

/// A round's contributor with join index `index`.
pub fn contributor(id: u64, index: u32) -> Vec<u8> {
    key_of(&[&contributors_prefix(id), &index.to_be_bytes()])
}

/// A contributor's join index in a round, by address.
pub fn member(id: u64, addr: &Address) -> Vec<u8> {
    key_of(&[b"rounds/member/", &id.to_be_bytes(), b"/", addr.as_bytes()])
}

/// Marks an X25519 public key as taken in a round.
pub fn public_key(id: u64, key: &[u8; 32]) -> Vec<u8> {
    key_of(&[b"rounds/pubkey/", &id.to_be_bytes(), b"/", key])
}

/// A contributor's masked update (u32 little-endian words).
pub fn update(id: u64, index: u32) -> Vec<u8> {
    key_of(&[
        b"rounds/update/",
        &id.to_be_bytes(),
        b"/",
        &index.to_be_bytes(),
    ])
}

/// Prefix of the seeds revealed in a round.
pub fn reveals_prefix(id: u64) -> Vec<u8> {
    key_of(&[b"rounds/reveal/", &id.to_be_bytes(), b"/"])
}

/// The seed contributor `index` (who submitted) revealed for peer `peer` (who did not).
pub fn reveal(id: u64, index: u32, peer: u32) -> Vec<u8> {
    key_of(&[
        &reveals_prefix(id),
        &index.to_be_bytes(),
        &peer.to_be_bytes(),
    ])
}

/// Prefix of the phase ends due at `height`.
pub fn due_prefix(height: u64) -> Vec<u8> {
    key_of(&[b"rounds/due/", &height.to_be_bytes(), b"/"])
}

/// A round whose current phase ends at `height`.
pub fn due(height: u64, id: u64) -> Vec<u8> {
    key_of(&[&due_prefix(height), &id.to_be_bytes()])
}

/// A model version record.
pub fn version(id: u64) -> Vec<u8> {
    key_of(&[b"rounds/version/", &id.to_be_bytes()])
}

/// A model version's head (i32 little-endian, classes x hidden, row-major).
pub fn head(id: u64) -> Vec<u8> {
    key_of(&[b"rounds/head/", &id.to_be_bytes()])
}

/// The new head of a round whose evaluation jobs are running (i32
/// little-endian, as [`head`]); deleted when the round ends.
pub fn candidate(round_id: u64) -> Vec<u8> {
    key_of(&[b"rounds/candidate/", &round_id.to_be_bytes()])
}

/// Every key here starts with the module's prefix.
pub fn module_prefix() -> &'static str {
    PREFIX
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small known values
mod tests {
    use super::*;

    #[test]
    fn round_keys_sort_by_id_and_all_sit_under_the_module_prefix() {
        assert!(round(2) < round(256));
        assert!(due(5, 9) < due(6, 1));
        for k in [
            round(1),
            eval_set(1),
            contributor(1, 0),
            update(1, 0),
            reveal(1, 0, 1),
            candidate(1),
        ] {
            assert!(k.starts_with(module_prefix().as_bytes()));
        }
    }
}
