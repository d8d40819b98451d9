//! The keyring and derivation, driven through the public API.

use bech32::{Bech32, Hrp};
use deai_keys::{
    derive_from_mnemonic, Backend, KdfParams, KeyError, Keyring, EXPORT_ARMOR_BEGIN, HD_PATH,
};
use deai_types::Address;
use k256::ecdsa::{signature::Signer, signature::Verifier, Signature};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                       abandon abandon about";
/// What Keplr and `gaiad keys add --recover` show for [`ABANDON`] on m/44'/118'/0'/0/0.
const ABANDON_COSMOS_ADDRESS: &str = "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4";
const PASS: &str = "correct horse battery staple";

fn keyring(backend: Backend) -> (TempDir, Keyring) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kr = Keyring::open(&dir.path().join("keyring"), backend)
        .and_then(|kr| kr.with_kdf_params(KdfParams::insecure_fast()))
        .expect("a keyring in a fresh temporary directory");
    (dir, kr)
}

fn file_keyring() -> (TempDir, Keyring) {
    keyring(Backend::File)
}

#[test]
fn the_abandon_mnemonic_derives_the_address_cosmos_wallets_show() {
    assert_eq!(HD_PATH, "m/44'/118'/0'/0/0");
    let key = derive_from_mnemonic(ABANDON, "").unwrap();
    let pub_key = key.verifying_key().to_encoded_point(true);
    assert_eq!(pub_key.as_bytes().len(), 33);

    // Hash and encode independently of deai-types…
    let hash = Ripemd160::digest(Sha256::digest(pub_key.as_bytes()));
    let cosmos = bech32::encode::<Bech32>(Hrp::parse("cosmos").unwrap(), &hash).unwrap();
    assert_eq!(cosmos, ABANDON_COSMOS_ADDRESS);

    // …and check deai-types makes the same 20 bytes.
    let address = Address::from_secp256k1_pubkey(pub_key.as_bytes());
    assert_eq!(address.as_bytes().as_slice(), hash.as_slice());
    assert!(address.to_bech32().starts_with("deai1"));
}

#[test]
fn a_bip39_passphrase_derives_a_different_key() {
    let plain = derive_from_mnemonic(ABANDON, "").unwrap();
    let with_word = derive_from_mnemonic(ABANDON, "TREZOR").unwrap();
    assert_ne!(plain.to_bytes(), with_word.to_bytes());
}

#[test]
fn extra_whitespace_and_capitals_in_a_mnemonic_are_tolerated() {
    let messy = format!("  {}\n", ABANDON.to_uppercase().replace(' ', "   "));
    assert_eq!(
        derive_from_mnemonic(&messy, "").unwrap().to_bytes(),
        derive_from_mnemonic(ABANDON, "").unwrap().to_bytes()
    );
}

#[test]
fn a_malformed_mnemonic_is_refused_with_a_clear_error() {
    let short = derive_from_mnemonic("abandon abandon about", "").unwrap_err();
    assert!(matches!(short, KeyError::InvalidMnemonic(_)));
    assert!(short.to_string().contains("3 words"), "{short}");

    let unknown = ABANDON.replace("about", "aboot");
    let err = derive_from_mnemonic(&unknown, "").unwrap_err();
    assert!(err.to_string().contains("word 12 (\"aboot\")"), "{err}");

    let bad_checksum = ABANDON.replace("about", "abandon");
    let err = derive_from_mnemonic(&bad_checksum, "").unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");

    let (_dir, kr) = file_keyring();
    let err = kr.recover("alice", &bad_checksum, Some(PASS)).unwrap_err();
    assert!(matches!(err, KeyError::InvalidMnemonic(_)));
    assert!(kr.list().unwrap().is_empty());
}

#[test]
fn an_added_key_round_trips_through_show_list_and_signing_key() {
    let (_dir, kr) = file_keyring();
    let (info, mnemonic) = kr.add("alice", Some(PASS)).unwrap();
    assert_eq!(mnemonic.split(' ').count(), 24);
    assert_eq!(info.name, "alice");

    assert_eq!(kr.show("alice").unwrap(), info);
    assert_eq!(kr.list().unwrap(), vec![info.clone()]);

    let key = kr.signing_key("alice", Some(PASS)).unwrap();
    assert_eq!(
        key.verifying_key().to_encoded_point(true).as_bytes(),
        info.pub_key.as_slice()
    );
    assert_eq!(
        derive_from_mnemonic(&mnemonic, "").unwrap().to_bytes(),
        key.to_bytes()
    );
    let sig: Signature = key.sign(b"deai");
    key.verifying_key().verify(b"deai", &sig).unwrap();
}

#[test]
fn list_is_sorted_by_name_and_ignores_foreign_files() {
    let (_dir, kr) = keyring(Backend::Test);
    for name in ["carol", "alice", "bob"] {
        kr.add(name, None).unwrap();
    }
    std::fs::write(kr.dir().join("notes.txt"), "hello").unwrap();
    let names: Vec<_> = kr.list().unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
}

#[test]
fn recover_gives_the_address_derive_from_mnemonic_gives() {
    let (_dir, kr) = file_keyring();
    let info = kr.recover("abandon", ABANDON, Some(PASS)).unwrap();
    let key = derive_from_mnemonic(ABANDON, "").unwrap();
    let expected =
        Address::from_secp256k1_pubkey(key.verifying_key().to_encoded_point(true).as_bytes());
    assert_eq!(info.address, expected);
    assert_eq!(
        kr.signing_key("abandon", Some(PASS)).unwrap().to_bytes(),
        key.to_bytes()
    );
}

#[test]
fn recover_with_a_bip39_passphrase_keeps_it_with_the_secret() {
    let (_dir, kr) = file_keyring();
    let info = kr
        .recover_with_bip39_passphrase("k", ABANDON, "25th word", Some(PASS))
        .unwrap();
    let key = derive_from_mnemonic(ABANDON, "25th word").unwrap();
    assert_eq!(
        kr.signing_key("k", Some(PASS)).unwrap().to_bytes(),
        key.to_bytes()
    );
    let exported = kr.export("k", Some(PASS), "export pass").unwrap();
    let (_dir2, other) = file_keyring();
    assert_eq!(
        other
            .import("k", &exported, "export pass", Some("p2"))
            .unwrap(),
        info
    );
}

#[test]
fn a_wrong_passphrase_is_refused() {
    let (_dir, kr) = file_keyring();
    kr.add("alice", Some(PASS)).unwrap();
    let err = kr.signing_key("alice", Some("wrong")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase), "{err:?}");
    assert!(err.to_string().contains("wrong passphrase"));
    assert!(matches!(
        kr.signing_key("alice", None).unwrap_err(),
        KeyError::PassphraseRequired
    ));
    assert!(matches!(
        kr.export("alice", Some("wrong"), "x").unwrap_err(),
        KeyError::WrongPassphrase
    ));
}

#[test]
fn the_file_backend_needs_a_non_empty_passphrase_to_store_a_key() {
    let (_dir, kr) = file_keyring();
    assert!(matches!(
        kr.add("a", None).unwrap_err(),
        KeyError::PassphraseRequired
    ));
    assert!(matches!(
        kr.add("a", Some("")).unwrap_err(),
        KeyError::EmptyPassphrase
    ));
    assert!(kr.list().unwrap().is_empty());
}

#[test]
fn the_file_backend_keeps_the_mnemonic_out_of_the_file() {
    let (_dir, kr) = file_keyring();
    kr.recover("abandon", ABANDON, Some(PASS)).unwrap();
    let text = std::fs::read_to_string(kr.dir().join("abandon.json")).unwrap();
    assert!(!text.contains("abandon abandon"));
    assert!(text.contains("scrypt"));
}

#[test]
fn a_ciphertext_moved_into_another_key_file_does_not_open() {
    let (_dir, kr) = file_keyring();
    kr.add("alice", Some(PASS)).unwrap();
    kr.add("bob", Some(PASS)).unwrap();
    let read = |n: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(kr.dir().join(format!("{n}.json"))).unwrap())
            .unwrap()
    };
    let mut bob = read("bob");
    bob["crypto"] = read("alice")["crypto"].clone();
    std::fs::write(kr.dir().join("bob.json"), bob.to_string()).unwrap();
    assert!(matches!(
        kr.signing_key("bob", Some(PASS)).unwrap_err(),
        KeyError::WrongPassphrase
    ));
}

#[test]
fn export_then_import_into_another_keyring_yields_the_same_address() {
    let (_dir, kr) = file_keyring();
    let (info, _) = kr.add("alice", Some(PASS)).unwrap();
    let armored = kr.export("alice", Some(PASS), "export pass").unwrap();
    assert!(armored.starts_with(EXPORT_ARMOR_BEGIN));
    assert!(armored.contains(&info.address.to_bech32()));

    let (_dir2, other) = file_keyring();
    let imported = other
        .import("alice2", &armored, "export pass", Some("other pass"))
        .unwrap();
    assert_eq!(imported.address, info.address);
    assert_eq!(imported.name, "alice2");
    assert_eq!(
        other
            .signing_key("alice2", Some("other pass"))
            .unwrap()
            .to_bytes(),
        kr.signing_key("alice", Some(PASS)).unwrap().to_bytes()
    );

    // Into a test-backend keyring too, and with the wrong export passphrase not at all.
    let (_dir3, test_kr) = keyring(Backend::Test);
    assert!(matches!(
        test_kr.import("a", &armored, "nope", None).unwrap_err(),
        KeyError::WrongPassphrase
    ));
    assert_eq!(
        test_kr
            .import("a", &armored, "export pass", None)
            .unwrap()
            .address,
        info.address
    );
}

#[test]
fn garbled_export_text_is_refused() {
    let (_dir, kr) = file_keyring();
    kr.add("alice", Some(PASS)).unwrap();
    let armored = kr.export("alice", Some(PASS), "export pass").unwrap();
    // Change the first character of every body line (lines 5.. after the
    // BEGIN line, three headers and a blank), so ciphertext or JSON is hit.
    let count = armored.lines().count();
    let tampered: String = armored
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if (5..count - 1).contains(&i) {
                let c = if l.starts_with('A') { "B" } else { "A" };
                format!("{c}{}\n", &l[1..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(tampered, armored);
    let truncated = armored.lines().take(4).collect::<Vec<_>>().join("\n");
    let trailing = format!("{armored}trailing");
    let (_dir2, other) = file_keyring();
    for bad in ["not a key", &truncated, &tampered, &trailing] {
        let err = other
            .import("a", bad, "export pass", Some(PASS))
            .unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidExport(_) | KeyError::WrongPassphrase),
            "{err:?}"
        );
    }
    assert!(other.list().unwrap().is_empty());
}

#[test]
fn a_raw_secret_key_can_be_stored_and_exported() {
    let (_dir, kr) = file_keyring();
    let key = derive_from_mnemonic(ABANDON, "").unwrap();
    let info = kr.import_secret_key("raw", &key, Some(PASS)).unwrap();
    assert_eq!(
        kr.signing_key("raw", Some(PASS)).unwrap().to_bytes(),
        key.to_bytes()
    );
    let armored = kr.export("raw", Some(PASS), "e").unwrap();
    let (_dir2, other) = keyring(Backend::Test);
    assert_eq!(
        other.import("raw", &armored, "e", None).unwrap().address,
        info.address
    );
}

#[test]
fn delete_removes_the_key() {
    let (_dir, kr) = file_keyring();
    kr.add("alice", Some(PASS)).unwrap();
    kr.delete("alice").unwrap();
    assert!(matches!(
        kr.show("alice").unwrap_err(),
        KeyError::NotFound(_)
    ));
    assert!(kr.list().unwrap().is_empty());
    assert!(matches!(
        kr.delete("alice").unwrap_err(),
        KeyError::NotFound(_)
    ));
}

#[test]
fn adding_an_existing_name_is_refused_and_keeps_the_old_key() {
    let (_dir, kr) = file_keyring();
    let (first, _) = kr.add("alice", Some(PASS)).unwrap();
    let err = kr.recover("alice", ABANDON, Some(PASS)).unwrap_err();
    assert!(
        matches!(err, KeyError::AlreadyExists(ref n) if n == "alice"),
        "{err:?}"
    );
    assert_eq!(kr.show("alice").unwrap(), first);
}

#[test]
fn bad_names_are_refused_with_a_clear_error() {
    let (_dir, kr) = keyring(Backend::Test);
    let long = "a".repeat(65);
    for bad in [
        "",
        "../evil",
        "a/b",
        "has space",
        "ünï",
        ".hidden",
        long.as_str(),
    ] {
        let err = kr.add(bad, None).unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidName { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(err.to_string().contains("invalid key name"));
        assert!(matches!(
            kr.show(bad).unwrap_err(),
            KeyError::InvalidName { .. }
        ));
    }
    for good in ["a", "Alice_1.backup-2", &"z".repeat(64)] {
        kr.add(good, None).unwrap();
    }
    assert!(kr.list().unwrap().len() == 3);
}

#[test]
fn the_test_backend_needs_no_passphrase() {
    let (_dir, kr) = keyring(Backend::Test);
    let info = kr.recover("abandon", ABANDON, None).unwrap();
    let key = kr.signing_key("abandon", None).unwrap();
    assert_eq!(
        key.to_bytes(),
        derive_from_mnemonic(ABANDON, "").unwrap().to_bytes()
    );
    // A passphrase, if given, is ignored.
    assert_eq!(
        kr.signing_key("abandon", Some("anything"))
            .unwrap()
            .to_bytes(),
        key.to_bytes()
    );
    assert_eq!(kr.show("abandon").unwrap(), info);
}

#[test]
fn a_key_is_only_unlocked_by_the_backend_that_stored_it() {
    let dir = tempfile::tempdir().unwrap();
    let test_kr = Keyring::open(dir.path(), Backend::Test).unwrap();
    test_kr.recover("abandon", ABANDON, None).unwrap();
    let file_kr = Keyring::open(dir.path(), Backend::File).unwrap();
    assert!(matches!(
        file_kr.signing_key("abandon", Some(PASS)).unwrap_err(),
        KeyError::BackendMismatch { .. }
    ));
}

#[test]
fn backends_parse_from_their_cli_names() {
    assert_eq!("file".parse::<Backend>().unwrap(), Backend::File);
    assert_eq!("test".parse::<Backend>().unwrap(), Backend::Test);
    assert!(matches!(
        "os".parse::<Backend>().unwrap_err(),
        KeyError::UnknownBackend(_)
    ));
}

#[test]
fn key_info_serialises_the_address_as_bech32_and_the_pub_key_as_base64() {
    let (_dir, kr) = keyring(Backend::Test);
    let info = kr.recover("abandon", ABANDON, None).unwrap();
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["name"], "abandon");
    assert_eq!(json["address"], info.address.to_bech32());
    use base64::Engine as _;
    let pk = base64::engine::general_purpose::STANDARD
        .decode(json["pub_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(pk, info.pub_key);
    assert_eq!(
        serde_json::from_value::<deai_keys::KeyInfo>(json).unwrap(),
        info
    );
}

#[cfg(unix)]
#[test]
fn the_directory_is_private_and_key_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, kr) = file_keyring();
    kr.add("alice", Some(PASS)).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(kr.dir()), 0o700);
    assert_eq!(mode(&kr.dir().join("alice.json")), 0o600);
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(kr.dir()).unwrap().count(), 1);
}

#[test]
fn kdf_params_beyond_the_limits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kr = Keyring::open(dir.path(), Backend::File).unwrap();
    let huge = KdfParams {
        log_n: 30,
        r: 8,
        p: 1,
    };
    assert!(matches!(
        kr.with_kdf_params(huge).unwrap_err(),
        KeyError::InvalidKdfParams(_)
    ));
}
