//! The `deai-compute` subcommands a provider runs by hand: `bench` measures gemm-i8 and
//! embeddings against the reference in one run, `gemm` prints matching hashes, `run`
//! prints the embedding whose result hash the reference encoder gives, and bad input is a
//! clear error. Runs on lavapipe when there is no GPU.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Command};

use deai_compute::{
    encoder::Reference,
    hash::hash_hex,
    model::{ModelFiles, SentenceModel},
    result_hash,
};

const COMPUTE: &str = env!("CARGO_BIN_EXE_deai-compute");

/// Runs `deai-compute ARGS`; returns (success, stdout, stderr).
fn compute(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(COMPUTE)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DEAI_MINILM_DIR")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

/// The unpacked model wheel, or `None` (skip, saying why) unless `DEAI_REQUIRE_MODEL=1`.
fn model_dir() -> Option<PathBuf> {
    let required = std::env::var("DEAI_REQUIRE_MODEL").as_deref() == Ok("1");
    let dir = std::env::var_os("DEAI_MINILM_DIR").map(PathBuf::from);
    match dir.as_deref().map(ModelFiles::locate) {
        Some(Ok(_)) => dir,
        other => {
            assert!(!required, "DEAI_REQUIRE_MODEL=1 but no model: {other:?}");
            eprintln!("SKIPPED: no model at DEAI_MINILM_DIR (scripts/test.sh downloads it)");
            None
        }
    }
}

#[test]
fn bench_reports_throughput_for_each_size_and_embeddings_against_the_reference() {
    let (ok, out, err) = compute(&["bench", "--sizes", "40x24x72,64x64x64"]);
    assert!(ok, "bench failed:\n{out}\n{err}");
    assert!(out.starts_with("device: "), "{out}");
    for size in ["40x24x72", "64x64x64"] {
        let row = out
            .lines()
            .find(|l| l.trim_start().starts_with(size))
            .unwrap_or_else(|| panic!("no row for {size}:\n{out}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        // size, vulkan s, GOP/s, ref s, GOP/s, ratio, vk GOP/cpu, ref GOP/cpu, hash
        assert_eq!(cols.len(), 9, "{row}");
        let vk: f64 = cols[2].parse().unwrap();
        let reference: f64 = cols[4].parse().unwrap();
        assert!(vk > 0.0 && reference > 0.0, "{row}");
        assert!(cols[5].ends_with('x'), "{row}");
        assert_eq!(cols[8], "same", "Vulkan and reference hashes: {row}");
    }
    assert!(out.contains("sentence embeddings: random weights"), "{out}");
    for backend in ["vulkan", "reference"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(backend) && !l.contains("GOP"))
            .unwrap_or_else(|| panic!("no {backend} embeddings line:\n{out}"));
        let per_sec: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(per_sec > 0.0, "{line}");
    }
    assert!(out.contains("result hashes same"), "{out}");
}

#[test]
fn bench_backends_without_vulkan_still_compares_every_cpu_backend_with_the_reference() {
    // No Vulkan driver (most home devices have no GPU): the loader finds none.
    let no_vulkan = |args: &[&str]| {
        let o = Command::new(COMPUTE)
            .args(["bench", "--backends", "--sizes", "32x16x64"])
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("DEAI_MINILM_DIR")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .output()
            .unwrap();
        (
            o.status,
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    // Bad arguments, and a device asked for by name, are still errors without Vulkan.
    let (status, _, err) = no_vulkan(&["--workgroup", "16by16"]);
    assert!(
        !status.success() && err.contains("not of the form XxY"),
        "{err}"
    );
    let (status, _, err) = no_vulkan(&["--device", "0"]);
    assert!(!status.success() && err.contains("Vulkan"), "{err}");
    let (o, out, err) = no_vulkan(&[]);
    assert!(o.success(), "bench --backends failed:\n{out}\n{err}");
    assert!(out.starts_with("vulkan: not measured ("), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
    assert!(
        !rows.iter().any(|r| r.starts_with("| vulkan")),
        "no Vulkan row without Vulkan:\n{out}"
    );
    for backend in ["| reference (1 thread)", "| cpu scalar"] {
        // One gemm-i8 row and one embeddings row each.
        let n = rows.iter().filter(|r| r.starts_with(backend)).count();
        assert_eq!(n, 2, "{backend} rows:\n{out}");
    }
    let results: Vec<&str> = rows
        .iter()
        .filter(|r| !r.starts_with("| backend") && !r.starts_with("| ---"))
        .map(|r| r.trim_end_matches(" |").rsplit(" | ").next().unwrap())
        .collect();
    assert!(results.len() >= 4, "{out}");
    assert!(results.iter().all(|&r| r == "same"), "{out}");
}

#[test]
fn gemm_prints_the_same_hash_on_vulkan_and_the_reference() {
    let (ok, out, err) = compute(&["gemm", "33x17x65", "--seed", "9"]);
    assert!(ok, "{out}\n{err}");
    let hash = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {prefix} line:\n{out}"))
            .to_string()
    };
    let (vk, reference) = (hash("vulkan"), hash("reference"));
    assert_eq!(vk.len(), 64, "{out}");
    assert_eq!(vk, reference);
    // Another seed is another product.
    let (_, other, _) = compute(&["gemm", "33x17x65", "--seed", "10"]);
    assert!(!other.contains(&vk), "{other}");
}

#[test]
fn bad_sizes_and_model_paths_are_clear_errors() {
    let (ok, _, err) = compute(&["bench", "--sizes", "64x64"]);
    assert!(!ok);
    assert!(err.contains("64x64"), "{err}");
    let (ok, _, err) = compute(&["gemm", "0x4x4"]);
    assert!(!ok);
    assert!(err.contains("at least 1"), "{err}");
    let missing = "/nonexistent/deai-model";
    let (ok, out, err) = compute(&["run", "--model", missing, "--text", "hello"]);
    assert!(!ok);
    assert!(out.is_empty(), "nothing printed on failure: {out}");
    assert!(
        err.contains(&format!("loading the model at {missing}")),
        "{err}"
    );
}

#[test]
fn run_prints_the_embedding_the_reference_encoder_computes() {
    let Some(dir) = model_dir() else { return };
    let text = "A man is eating food.";
    let model = SentenceModel::load(&dir).unwrap();
    let expected = model
        .encoder()
        .forward(&Reference, &model.tokenize(text).unwrap())
        .unwrap();
    let (ok, out, err) = compute(&["run", "--model", dir.to_str().unwrap(), "--text", text]);
    assert!(ok, "{out}\n{err}");
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} line:\n{out}"))
            .to_string()
    };
    assert_eq!(field("model:"), hex::encode(model.id()));
    assert_eq!(field("result hash:"), hash_hex(&result_hash(&expected)));
    let floats: Vec<f64> = out
        .lines()
        .last()
        .unwrap()
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(floats.len(), 384);
    let norm: f64 = floats.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 0.01, "a unit vector: norm {norm}");
}
