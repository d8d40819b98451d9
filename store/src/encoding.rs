//! Byte layouts of the RocksDB keys and values this crate writes.
//!
//! Raw state keys have any length, so a raw key cannot simply be followed by
//! a version: `a` ++ version would interleave with `a\0...`. Raw keys are
//! therefore escaped (`00` becomes `00 FF`) and closed with `00 00`, which
//! keeps raw-key order and makes every encoded key prefix-free. Versions
//! follow as the big-endian bitwise complement, so a key's newest version
//! sorts first and "the newest version at or below V" is one forward seek.

use jmt::storage::NibblePath;

/// Byte that closes an escaped raw key, after a `00`.
const TERMINATOR: u8 = 0x00;
/// Byte that follows a `00` inside an escaped raw key.
const ESCAPED_ZERO: u8 = 0xFF;

/// Appends `raw` to `out` with every `00` byte escaped, without the terminator.
pub(crate) fn escape_into(raw: &[u8], out: &mut Vec<u8>) {
    for &b in raw {
        out.push(b);
        if b == 0 {
            out.push(ESCAPED_ZERO);
        }
    }
}

/// The escaped raw key without its terminator: a byte prefix of the group
/// of every raw key that starts with `prefix`.
pub(crate) fn escaped_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 2);
    escape_into(prefix, &mut out);
    out
}

/// The escaped, terminated raw key: the common prefix of all of its versions.
pub(crate) fn group(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 10);
    escape_into(raw, &mut out);
    out.push(0);
    out.push(TERMINATOR);
    out
}

/// The key under which `raw`'s value as of `version` is stored.
pub(crate) fn data_key(raw: &[u8], version: u64) -> Vec<u8> {
    let mut out = group(raw);
    out.extend_from_slice(&(!version).to_be_bytes());
    out
}

/// The smallest encoded key that sorts after every version of the raw key
/// whose group is `group`, and before any raw key that sorts after it.
pub(crate) fn after_group(group: &[u8]) -> Vec<u8> {
    let mut out = group.to_vec();
    if let Some(last) = out.last_mut() {
        // The group ends `00 00`; `00 01` sorts after `00 00 ..` and before
        // both `00 FF` (an escaped zero) and any non-zero byte.
        *last = 0x01;
    }
    out
}

/// The smallest byte string greater than every string that starts with
/// `prefix`, or `None` when no such string exists (empty or all `FF`).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last != 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// Splits an encoded data key into its raw key, its group length and its version.
/// `None` if the bytes are not a well-formed data key.
pub(crate) fn decode_data_key(encoded: &[u8]) -> Option<(Vec<u8>, usize, u64)> {
    let mut raw = Vec::with_capacity(encoded.len());
    let mut i = 0;
    loop {
        let b = *encoded.get(i)?;
        if b != 0 {
            raw.push(b);
            i += 1;
            continue;
        }
        match *encoded.get(i + 1)? {
            ESCAPED_ZERO => {
                raw.push(0);
                i += 2;
            }
            TERMINATOR => {
                let group_len = i + 2;
                let version_bytes: [u8; 8] = encoded.get(group_len..)?.try_into().ok()?;
                return Some((raw, group_len, !u64::from_be_bytes(version_bytes)));
            }
            _ => return None,
        }
    }
}

/// Marks a stored value as a live value.
const LIVE: u8 = 1;
/// Marks a stored value as a deletion.
const DELETED: u8 = 0;

/// The stored form of a value (`Some`) or a deletion (`None`).
pub(crate) fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(LIVE);
            out.extend_from_slice(v);
            out
        }
        None => vec![DELETED],
    }
}

/// Reads a stored value: `Ok(Some)` for a live value, `Ok(None)` for a
/// deletion, `Err(())` for bytes this crate did not write.
pub(crate) fn decode_value(stored: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    match stored.split_first() {
        Some((&LIVE, rest)) => Ok(Some(rest.to_vec())),
        Some((&DELETED, [])) => Ok(None),
        _ => Err(()),
    }
}

/// The key of a tree node: version (big-endian, so nodes sort by the version
/// that created them) then the borsh form of its nibble path.
pub(crate) fn node_key(version: u64, path: &NibblePath) -> Vec<u8> {
    let mut out = version.to_be_bytes().to_vec();
    // Serialising into a Vec cannot fail.
    borsh::to_writer(&mut out, path).expect("borsh writes into a Vec without error");
    out
}

/// The key of a stale-node record: the version from which the node is no
/// longer part of the tree, then the node's own key.
pub(crate) fn stale_key(stale_since: u64, node_key: &[u8]) -> Vec<u8> {
    let mut out = stale_since.to_be_bytes().to_vec();
    out.extend_from_slice(node_key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_keys_sort_like_raw_keys_and_versions_sort_newest_first() {
        let raws: Vec<&[u8]> = vec![
            b"", b"\0", b"\0\0", b"\0\x01", b"a", b"a\0", b"a\0b", b"a\x01", b"ab", b"\xff",
        ];
        let mut encoded = Vec::new();
        for raw in &raws {
            for version in [9u64, 3, 0] {
                encoded.push(data_key(raw, version));
            }
        }
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(encoded, sorted);
        for (i, raw) in raws.iter().enumerate() {
            let (decoded, group_len, version) = decode_data_key(&encoded[i * 3]).unwrap();
            assert_eq!(decoded, raw.to_vec());
            assert_eq!(group_len, group(raw).len());
            assert_eq!(version, 9);
        }
    }

    #[test]
    fn the_bound_after_a_group_sits_between_it_and_the_next_raw_key() {
        let g = group(b"a");
        let bound = after_group(&g);
        assert!(data_key(b"a", 0) < bound);
        assert!(bound < data_key(b"a\0", u64::MAX));
        assert!(bound < data_key(b"a\x01", u64::MAX));
    }

    #[test]
    fn values_and_deletions_round_trip() {
        assert_eq!(decode_value(&encode_value(Some(b""))), Ok(Some(vec![])));
        assert_eq!(
            decode_value(&encode_value(Some(b"x"))),
            Ok(Some(b"x".to_vec()))
        );
        assert_eq!(decode_value(&encode_value(None)), Ok(None));
        assert_eq!(decode_value(&[7]), Err(()));
    }
}
