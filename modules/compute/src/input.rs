//! Job input formats, as the chain checks them at submission and as every
//! provider checks them again before it allocates anything.
//!
//! A job is only accepted when the network can run it: a malformed input
//! would otherwise be skipped by every honest provider, which would then be
//! slashed for not answering. The same functions run on chain (at
//! `MsgSubmitJob`) and in the compute daemon (before a kernel is sized), so
//! the two can never disagree about what is runnable.
//!
//! # `gemm-i8` input, version 1
//!
//! | bytes | content |
//! | --- | --- |
//! | 4 | ASCII `DGM1` (kind and version) |
//! | 4 | `m`, u32 little-endian |
//! | 4 | `n`, u32 little-endian |
//! | 4 | `k`, u32 little-endian |
//! | m·k | `A`, int8, row-major (`m` rows of `k`) |
//! | k·n | `B`, int8, row-major (`k` rows of `n`) |
//!
//! Nothing may follow `B`. Every dimension is at least 1; `k` is at most
//! [`GEMM_I8_MAX_K`], so no int32 partial sum can overflow (|a·b| ≤ 2^14, and
//! 2^14 · 131 071 < 2^31), and the result `C = A × B` has at most
//! [`GEMM_I8_MAX_OUTPUT_ELEMENTS`] elements, so a provider never sizes an
//! output beyond 64 MiB.
//!
//! # `embed` input
//!
//! Either one text or a batch of texts, at most [`EMBED_MAX_INPUT_BYTES`] in
//! all, checked by [`embed_texts`] before anything else is read.
//!
//! * **One text** (version 1): raw UTF-8 text, at least one byte.
//! * **A batch** (version 1): the four bytes [`EMBED_BATCH_MAGIC_V1`]
//!   (`FF 44 45 31`, `0xFF` then `DE1`), `count` as u32 little-endian (1 to
//!   [`EMBED_MAX_BATCH`]), then `count` times: a length `len` as u32
//!   little-endian (at least 1) and `len` bytes of UTF-8 text. Nothing may
//!   follow the last text. `0xFF` never occurs in UTF-8, so no single-text
//!   input (which must be UTF-8) can be read as a batch, and every input
//!   accepted before batches existed means what it meant.
//!
//! Each text is tokenized on its own; the model's tokenizer truncates it to
//! the model's token limit. The result of a batch is the `count × hidden`
//! matrix of the texts' embeddings, row `i` for text `i`; a batch of one text
//! has the same result as that text alone. Work units are the sum of each
//! text's ([`embed_work_units`]), so a batch costs what its texts would
//! cost as separate jobs.
//!
//! # `classify` input, version 1
//!
//! Texts classified by a head atop a registered encoder (a head that a
//! private data round trained, or any other):
//!
//! | bytes | content |
//! | --- | --- |
//! | 4 | ASCII `DCL1` (kind and version) |
//! | 4 | `classes`, u32 little-endian, 2 to [`CLASSIFY_MAX_CLASSES`] |
//! | classes·384·4 | the head: i32 little-endian, row-major, row `c` for class `c` |
//! | the rest | the texts, exactly as an `embed` input (one text or a batch) |
//!
//! Heads of version 1 are [`CLASSIFY_HIDDEN`] wide (MiniLM's width); a
//! provider whose model has another width answers the invalid-input answer.
//! Each text is embedded as by `embed`; its embedding `v` (a unit vector
//! times 2^15) becomes the feature `x_k = clamp(round(v_k / 64), -127, 127)`
//! (ties away from zero), and its class is the row with the highest i64
//! score `Σ head[c][k]·x_k`, the lowest class on a tie. The result is one
//! byte per text, its class, in order: small enough to reveal on chain, so a
//! settled job carries its answer. (These are the rules of
//! `deai_rounds::head::predict` and `deai_rounds_client::feature`, which the
//! compute node runs.) Work units are those of the texts as an
//! `embed` input (the head's multiply-adds are a rounding error beside the
//! encoder's).
//!
//! # The invalid-input answer
//!
//! A provider that finds an input it cannot run for a reason every honest
//! provider shares (it passed these checks but, say, does not tokenize) commits
//! to [`invalid_input_result_hash`], the SHA3-256 of [`INVALID_INPUT_OUTPUT`],
//! like any other result: agreeing on it is an answer, not a missed job.

use thiserror::Error;

use crate::record::{sha3, Hash};

/// Magic and version of the `gemm-i8` input encoding.
pub const GEMM_I8_MAGIC_V1: [u8; 4] = *b"DGM1";

/// Length of the `gemm-i8` input header.
pub const GEMM_I8_HEADER_BYTES: usize = 16;

/// Largest inner dimension `k`: int32 accumulation of int8 products stays exact.
pub const GEMM_I8_MAX_K: u32 = 131_071;

/// Most elements of a `gemm-i8` result (`m × n`): 2^24 int32, 64 MiB.
pub const GEMM_I8_MAX_OUTPUT_ELEMENTS: u64 = 1 << 24;

/// Multiply-accumulates in one `gemm-i8` work unit (2^20).
pub const GEMM_I8_MACS_PER_WORK_UNIT: u64 = 1 << 20;

/// Most `embed` input bytes that count for work units: the tokenizer keeps
/// 256 tokens, and text past 16 bytes a token on average is cut off unread,
/// so a longer input costs the provider no more work.
pub const EMBED_BILLED_BYTES: u64 = 4096;

/// `embed` input bytes in one work unit.
pub const EMBED_BYTES_PER_WORK_UNIT: u64 = 512;

/// Work units of an `embed` job on `input_len` bytes: one per
/// [`EMBED_BYTES_PER_WORK_UNIT`] (rounded up, at least one) of at most
/// [`EMBED_BILLED_BYTES`], so at most 8.
pub fn embed_work_units(input_len: u64) -> u64 {
    input_len
        .min(EMBED_BILLED_BYTES)
        .div_ceil(EMBED_BYTES_PER_WORK_UNIT)
        .max(1)
}

/// The output a provider reveals for an input that no provider can run.
pub const INVALID_INPUT_OUTPUT: &[u8] = b"deai-invalid-input-v1";

/// The result hash of [`INVALID_INPUT_OUTPUT`].
pub fn invalid_input_result_hash() -> Hash {
    sha3(&[INVALID_INPUT_OUTPUT])
}

/// Why an input is not runnable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// The input is shorter than its header.
    #[error("{kind} input is {len} bytes, shorter than its {header}-byte header")]
    TooShort {
        /// The job kind.
        kind: &'static str,
        /// The input's length.
        len: usize,
        /// The header's length.
        header: usize,
    },
    /// The header's magic is not the one this version expects.
    #[error("gemm-i8 input does not start with DGM1")]
    BadMagic,
    /// A dimension is out of range.
    #[error("gemm-i8 shape {m}x{n}x{k}: {reason}")]
    BadShape {
        /// Rows of A and C.
        m: u32,
        /// Columns of B and C.
        n: u32,
        /// Columns of A, rows of B.
        k: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// The body is not exactly as long as the header says.
    #[error("gemm-i8 shape {m}x{n}x{k} needs {expected} bytes after the header, got {got}")]
    WrongLength {
        /// Rows of A and C.
        m: u32,
        /// Columns of B and C.
        n: u32,
        /// Columns of A, rows of B.
        k: u32,
        /// `m·k + k·n`.
        expected: u64,
        /// The body's length.
        got: usize,
    },
    /// Text input that is empty or not UTF-8.
    #[error("embed input {0}")]
    BadText(String),
    /// A `classify` input whose header or head is malformed.
    #[error("classify input {0}")]
    BadClassify(String),
}

/// The shape of a `gemm-i8` job: `C (m × n) = A (m × k) × B (k × n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmI8Shape {
    /// Rows of A and C.
    pub m: u32,
    /// Columns of B and C.
    pub n: u32,
    /// Columns of A, rows of B.
    pub k: u32,
}

impl GemmI8Shape {
    /// Reads and checks the header and length of a version-1 input without
    /// looking at (or copying) the matrices.
    pub fn parse(input: &[u8]) -> Result<Self, InputError> {
        let (header, body) =
            input
                .split_at_checked(GEMM_I8_HEADER_BYTES)
                .ok_or(InputError::TooShort {
                    kind: "gemm-i8",
                    len: input.len(),
                    header: GEMM_I8_HEADER_BYTES,
                })?;
        let word = |i: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(header.get(i..i.saturating_add(4)).unwrap_or(&[0; 4]));
            u32::from_le_bytes(w)
        };
        if header.get(..4) != Some(GEMM_I8_MAGIC_V1.as_slice()) {
            return Err(InputError::BadMagic);
        }
        let shape = GemmI8Shape {
            m: word(4),
            n: word(8),
            k: word(12),
        };
        let bad = |reason: &str| InputError::BadShape {
            m: shape.m,
            n: shape.n,
            k: shape.k,
            reason: reason.to_string(),
        };
        if shape.m == 0 || shape.n == 0 || shape.k == 0 {
            return Err(bad("every dimension must be at least 1"));
        }
        if shape.k > GEMM_I8_MAX_K {
            return Err(bad(&format!(
                "k must be at most {GEMM_I8_MAX_K} (exact int32 accumulation)"
            )));
        }
        if shape.output_elements() > GEMM_I8_MAX_OUTPUT_ELEMENTS {
            return Err(bad(&format!(
                "the result has {} elements, at most {GEMM_I8_MAX_OUTPUT_ELEMENTS} allowed",
                shape.output_elements()
            )));
        }
        // Each product of two u32 fits in u64, and so does their sum.
        let expected = u64::from(shape.m)
            .saturating_mul(u64::from(shape.k))
            .saturating_add(u64::from(shape.k).saturating_mul(u64::from(shape.n)));
        if u64::try_from(body.len()).ok() != Some(expected) {
            return Err(InputError::WrongLength {
                m: shape.m,
                n: shape.n,
                k: shape.k,
                expected,
                got: body.len(),
            });
        }
        Ok(shape)
    }

    /// Elements of the result, `m × n`.
    pub fn output_elements(&self) -> u64 {
        u64::from(self.m).saturating_mul(u64::from(self.n))
    }

    /// Multiply-accumulates the product takes, `m × n × k`.
    pub fn multiply_adds(&self) -> u64 {
        self.output_elements().saturating_mul(u64::from(self.k))
    }

    /// Work units of the product: one per [`GEMM_I8_MACS_PER_WORK_UNIT`]
    /// multiply-adds, rounded up, at least one (at most 2^21 for a shape
    /// [`GemmI8Shape::parse`] accepts).
    pub fn work_units(&self) -> u64 {
        self.multiply_adds()
            .div_ceil(GEMM_I8_MACS_PER_WORK_UNIT)
            .max(1)
    }
}

/// Magic and version of the `embed` batch input (see the module docs).
pub const EMBED_BATCH_MAGIC_V1: [u8; 4] = [0xFF, b'D', b'E', b'1'];

/// Most texts in one `embed` batch. With at most 8 work units a text, a
/// batch is at most 2,048 work units, and its result at most
/// `256 × hidden` int32 (384 KiB for a 384-wide model).
pub const EMBED_MAX_BATCH: usize = 256;

/// Longest `embed` input, one text or a whole batch: far beyond the model's 256 tokens (which a few KiB
/// of text fill), yet small enough that every provider tokenizes it quickly,
/// whatever `max_input_bytes` governance sets.
pub const EMBED_MAX_INPUT_BYTES: usize = 65_536;

/// Checks an `embed` input (one text or a batch, see the module docs).
pub fn check_embed_input(input: &[u8]) -> Result<(), InputError> {
    embed_texts(input).map(|_| ())
}

/// The texts of an `embed` input, in order: one for a single text, `count`
/// for a batch. The total size is checked before anything is decoded, and a
/// batch's count before anything is allocated for it.
pub fn embed_texts(input: &[u8]) -> Result<Vec<&str>, InputError> {
    if input.is_empty() {
        return Err(InputError::BadText("is empty".into()));
    }
    if input.len() > EMBED_MAX_INPUT_BYTES {
        return Err(InputError::BadText(format!(
            "is {} bytes, at most {EMBED_MAX_INPUT_BYTES} allowed",
            input.len()
        )));
    }
    let Some(body) = input.strip_prefix(EMBED_BATCH_MAGIC_V1.as_slice()) else {
        let text = std::str::from_utf8(input)
            .map_err(|e| InputError::BadText(format!("is not UTF-8: {e}")))?;
        return Ok(vec![text]);
    };
    let bad = |reason: String| InputError::BadText(format!("batch {reason}"));
    let (count, mut rest) = take_u32(body).ok_or_else(|| bad("has no count".into()))?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count == 0 || count > EMBED_MAX_BATCH {
        return Err(bad(format!(
            "has {count} texts, 1 to {EMBED_MAX_BATCH} allowed"
        )));
    }
    let mut texts = Vec::with_capacity(count);
    for i in 0..count {
        let (len, after) =
            take_u32(rest).ok_or_else(|| bad(format!("ends before text {i}'s length")))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len == 0 {
            return Err(bad(format!("text {i} is empty")));
        }
        let (text, after) = after
            .split_at_checked(len)
            .ok_or_else(|| bad(format!("ends inside text {i}")))?;
        let text =
            std::str::from_utf8(text).map_err(|e| bad(format!("text {i} is not UTF-8: {e}")))?;
        texts.push(text);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(bad(format!("has {} bytes after its last text", rest.len())));
    }
    Ok(texts)
}

fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (word, rest) = b.split_at_checked(4)?;
    let word: [u8; 4] = word.try_into().ok()?;
    Some((u32::from_le_bytes(word), rest))
}

/// Encodes `texts` as an `embed` input: a batch (see the module docs), or the
/// text itself when there is exactly one, so a one-text request is the same
/// job however it was sent. The result is checked by [`embed_texts`].
pub fn encode_embed_input(texts: &[&str]) -> Result<Vec<u8>, InputError> {
    let input = match texts {
        [one] => one.as_bytes().to_vec(),
        _ => {
            let count = u32::try_from(texts.len())
                .map_err(|_| InputError::BadText(format!("batch has {} texts", texts.len())))?;
            let mut out = EMBED_BATCH_MAGIC_V1.to_vec();
            out.extend_from_slice(&count.to_le_bytes());
            for t in texts {
                // A text longer than u32 is far past the size bound checked below.
                let len = u32::try_from(t.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }
            out
        }
    };
    embed_texts(&input)?;
    Ok(input)
}

/// Work units of an `embed` input: the sum of [`embed_work_units`] of each
/// text's length (at most 8 a text, so at most 2,048 a batch).
pub fn embed_input_work_units(input: &[u8]) -> Result<u64, InputError> {
    Ok(embed_texts(input)?
        .iter()
        .map(|t| embed_work_units(u64::try_from(t.len()).unwrap_or(u64::MAX)))
        .fold(0u64, u64::saturating_add))
}

/// Magic and version of the `classify` input encoding.
pub const CLASSIFY_MAGIC_V1: [u8; 4] = *b"DCL1";

/// Most classes of a `classify` head.
pub const CLASSIFY_MAX_CLASSES: u32 = 16;

/// Width of a version-1 `classify` head: MiniLM's embedding width.
pub const CLASSIFY_HIDDEN: usize = 384;

/// A decoded `classify` input (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifyInput<'a> {
    /// Rows of the head.
    pub classes: u32,
    /// `classes × CLASSIFY_HIDDEN` weights, row `c` for class `c`.
    pub head: Vec<i32>,
    /// The texts, in order.
    pub texts: Vec<&'a str>,
}

impl<'a> ClassifyInput<'a> {
    /// Decodes and checks a `classify` input: the class count is read and
    /// bounded before the head is sized, and the texts are checked as an
    /// `embed` input.
    pub fn parse(input: &'a [u8]) -> Result<Self, InputError> {
        let bad = |reason: String| InputError::BadClassify(reason);
        let body = input
            .strip_prefix(CLASSIFY_MAGIC_V1.as_slice())
            .ok_or_else(|| bad("does not start with DCL1".into()))?;
        let (classes, rest) = take_u32(body).ok_or_else(|| bad("has no class count".into()))?;
        if !(2..=CLASSIFY_MAX_CLASSES).contains(&classes) {
            return Err(bad(format!(
                "has {classes} classes, 2 to {CLASSIFY_MAX_CLASSES} allowed"
            )));
        }
        // At most 16 × 384 × 4 bytes: no overflow.
        let head_bytes = usize::try_from(classes)
            .unwrap_or(usize::MAX)
            .saturating_mul(CLASSIFY_HIDDEN)
            .saturating_mul(4);
        let (head, texts) = rest.split_at_checked(head_bytes).ok_or_else(|| {
            bad(format!(
                "ends inside its head ({classes} x {CLASSIFY_HIDDEN} i32, {head_bytes} bytes)"
            ))
        })?;
        let head = head
            .chunks_exact(4)
            .map(|w| i32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let texts = embed_texts(texts)?;
        Ok(ClassifyInput {
            classes,
            head,
            texts,
        })
    }
}

/// Work units of a `classify` input: those of its texts as an `embed` input.
pub fn classify_work_units(input: &[u8]) -> Result<u64, InputError> {
    Ok(ClassifyInput::parse(input)?
        .texts
        .iter()
        .map(|t| embed_work_units(u64::try_from(t.len()).unwrap_or(u64::MAX)))
        .fold(0u64, u64::saturating_add))
}

/// Encodes a `classify` input from a head (`classes × CLASSIFY_HIDDEN`
/// weights) and texts; the result is checked by [`ClassifyInput::parse`].
pub fn encode_classify_input(
    classes: u32,
    head: &[i32],
    texts: &[&str],
) -> Result<Vec<u8>, InputError> {
    let head: Vec<u8> = head.iter().flat_map(|w| w.to_le_bytes()).collect();
    Ok(classify_input(classes, &head, &encode_embed_input(texts)?)?.0)
}

/// A `classify` input from a head as little-endian i32 bytes (`classes ×
/// CLASSIFY_HIDDEN` words) and `texts`, an `embed` input kept byte for
/// byte; checked by [`ClassifyInput::parse`]. Returns it with its text count.
pub fn classify_input(
    classes: u32,
    head_le: &[u8],
    texts: &[u8],
) -> Result<(Vec<u8>, usize), InputError> {
    let want = usize::try_from(classes)
        .unwrap_or(usize::MAX)
        .saturating_mul(CLASSIFY_HIDDEN)
        .saturating_mul(4);
    if head_le.len() != want {
        return Err(InputError::BadClassify(format!(
            "head is {} bytes, {classes} x {CLASSIFY_HIDDEN} i32 ({want} bytes) expected",
            head_le.len()
        )));
    }
    let mut out = CLASSIFY_MAGIC_V1.to_vec();
    out.extend_from_slice(&classes.to_le_bytes());
    out.extend_from_slice(head_le);
    out.extend_from_slice(texts);
    let count = ClassifyInput::parse(&out)?.texts.len();
    Ok((out, count))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn header(m: u32, n: u32, k: u32) -> Vec<u8> {
        let mut v = GEMM_I8_MAGIC_V1.to_vec();
        for d in [m, n, k] {
            v.extend_from_slice(&d.to_le_bytes());
        }
        v
    }

    #[test]
    fn a_well_formed_gemm_input_gives_its_shape() {
        let mut input = header(2, 3, 4);
        input.extend(std::iter::repeat_n(1u8, 2 * 4 + 4 * 3));
        let s = GemmI8Shape::parse(&input).unwrap();
        assert_eq!((s.m, s.n, s.k), (2, 3, 4));
        assert_eq!(s.multiply_adds(), 24);
    }

    #[test]
    fn a_huge_output_with_k_zero_is_refused_before_anything_is_sized() {
        // The attack: m = n = 2^32 - 1 and k = 0 needs no body bytes at all.
        let input = header(u32::MAX, u32::MAX, 0);
        assert!(matches!(
            GemmI8Shape::parse(&input),
            Err(InputError::BadShape { .. })
        ));
        let input = header(1 << 16, 1 << 16, 1);
        let err = GemmI8Shape::parse(&input).unwrap_err();
        assert!(err.to_string().contains("elements"), "{err}");
    }

    #[test]
    fn a_k_past_the_exact_accumulation_bound_is_refused() {
        let mut input = header(1, 1, GEMM_I8_MAX_K + 1);
        input.extend(std::iter::repeat_n(0u8, 2 * (GEMM_I8_MAX_K as usize + 1)));
        assert!(GemmI8Shape::parse(&input).is_err());
    }

    #[test]
    fn short_mislabelled_and_wrong_length_inputs_are_refused() {
        assert!(matches!(
            GemmI8Shape::parse(b"DGM1"),
            Err(InputError::TooShort { .. })
        ));
        let mut bad = header(1, 1, 1);
        bad[0] = b'X';
        bad.extend([0, 0]);
        assert_eq!(GemmI8Shape::parse(&bad), Err(InputError::BadMagic));
        let mut long = header(1, 1, 1);
        long.extend([0, 0, 0]);
        assert!(matches!(
            GemmI8Shape::parse(&long),
            Err(InputError::WrongLength { .. })
        ));
    }

    #[test]
    fn work_units_follow_the_real_work_and_stop_where_the_tokenizer_stops() {
        let s = GemmI8Shape { m: 1, n: 1, k: 1 };
        assert_eq!(s.work_units(), 1);
        let s = GemmI8Shape {
            m: 1024,
            n: 1024,
            k: 1,
        };
        assert_eq!(s.work_units(), 1);
        let s = GemmI8Shape {
            m: 1024,
            n: 1024,
            k: 3,
        };
        assert_eq!(s.work_units(), 3);
        let s = GemmI8Shape {
            m: 4096,
            n: 4096,
            k: GEMM_I8_MAX_K,
        };
        assert_eq!(s.work_units(), 16 * GEMM_I8_MAX_K as u64);
        assert_eq!(embed_work_units(1), 1);
        assert_eq!(embed_work_units(513), 2);
        assert_eq!(embed_work_units(4096), 8);
        assert_eq!(embed_work_units(16 * 1024 * 1024), 8);
    }

    #[test]
    fn embed_text_longer_than_the_bound_is_refused() {
        assert!(check_embed_input(&vec![b'a'; EMBED_MAX_INPUT_BYTES]).is_ok());
        assert!(check_embed_input(&vec![b'a'; EMBED_MAX_INPUT_BYTES + 1]).is_err());
    }

    #[test]
    fn embed_input_must_be_non_empty_utf8() {
        assert!(check_embed_input(b"hello").is_ok());
        assert!(check_embed_input(b"").is_err());
        assert!(check_embed_input(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn a_batch_of_texts_round_trips_and_one_text_is_the_text_itself() {
        let input = encode_embed_input(&["a man", "eats food", "é"]).unwrap();
        assert_eq!(&input[..4], &EMBED_BATCH_MAGIC_V1);
        assert_eq!(
            embed_texts(&input).unwrap(),
            vec!["a man", "eats food", "é"]
        );
        assert_eq!(encode_embed_input(&["hello"]).unwrap(), b"hello");
        assert_eq!(embed_texts(b"hello").unwrap(), vec!["hello"]);
    }

    #[test]
    fn batch_work_units_are_the_sum_of_each_texts() {
        let long = "x".repeat(600);
        let input = encode_embed_input(&["a", &long, "b"]).unwrap();
        assert_eq!(embed_input_work_units(&input).unwrap(), 1 + 2 + 1);
        assert_eq!(embed_input_work_units(b"hello").unwrap(), 1);
        let many: Vec<&str> = vec!["y"; EMBED_MAX_BATCH];
        let input = encode_embed_input(&many).unwrap();
        assert_eq!(
            embed_input_work_units(&input).unwrap(),
            EMBED_MAX_BATCH as u64
        );
    }

    #[test]
    fn a_batch_past_its_bounds_or_malformed_is_refused_before_it_is_decoded() {
        let batch = |count: u32, texts: &[&[u8]]| {
            let mut v = EMBED_BATCH_MAGIC_V1.to_vec();
            v.extend_from_slice(&count.to_le_bytes());
            for t in texts {
                v.extend_from_slice(&(t.len() as u32).to_le_bytes());
                v.extend_from_slice(t);
            }
            v
        };
        // Too many texts, none, a count that promises more than the bytes hold.
        let many: Vec<&str> = vec!["y"; EMBED_MAX_BATCH + 1];
        assert!(encode_embed_input(&many).is_err());
        assert!(embed_texts(&batch(u32::MAX, &[b"a"])).is_err());
        assert!(embed_texts(&batch(0, &[])).is_err());
        assert!(embed_texts(&batch(2, &[b"a"])).is_err());
        // An empty text, a text that is not UTF-8, bytes after the last text.
        assert!(embed_texts(&batch(2, &[b"a", b""])).is_err());
        assert!(embed_texts(&batch(1, &[&[0xff]])).is_err());
        let mut trailing = batch(1, &[b"a"]);
        trailing.push(b'!');
        assert!(embed_texts(&trailing).is_err());
        // A length past the end; a header cut short.
        let mut short = batch(1, &[]);
        short.extend_from_slice(&u32::MAX.to_le_bytes());
        short.push(b'a');
        assert!(embed_texts(&short).is_err());
        assert!(embed_texts(&EMBED_BATCH_MAGIC_V1).is_err());
        // The total size is bounded, a batch's as a text's.
        let big = "z".repeat(EMBED_MAX_INPUT_BYTES / 2);
        assert!(encode_embed_input(&[&big, &big]).is_err());
    }

    fn head(classes: u32) -> Vec<i32> {
        (0..classes as usize * CLASSIFY_HIDDEN)
            .map(|i| i as i32 - 700)
            .collect()
    }

    #[test]
    fn a_classify_input_round_trips_with_its_head_and_texts() {
        let h = head(3);
        let input = encode_classify_input(3, &h, &["one", "two words"]).unwrap();
        let parsed = ClassifyInput::parse(&input).unwrap();
        assert_eq!(parsed.classes, 3);
        assert_eq!(parsed.head, h);
        assert_eq!(parsed.texts, vec!["one", "two words"]);
        assert_eq!(classify_work_units(&input).unwrap(), 2);
        let one = encode_classify_input(3, &h, &["alone"]).unwrap();
        assert_eq!(ClassifyInput::parse(&one).unwrap().texts, vec!["alone"]);
    }

    #[test]
    fn a_malformed_classify_input_is_refused_before_the_head_is_sized() {
        let good = encode_classify_input(2, &head(2), &["t"]).unwrap();
        let err = |b: &[u8]| ClassifyInput::parse(b).unwrap_err().to_string();
        assert!(err(b"DGM1").contains("DCL1"));
        assert!(err(b"DCL1").contains("class count"));
        for classes in [0u32, 1, 17, u32::MAX] {
            let mut b = b"DCL1".to_vec();
            b.extend_from_slice(&classes.to_le_bytes());
            assert!(err(&b).contains("2 to 16"), "{classes}");
        }
        assert!(err(&good[..100]).contains("ends inside its head"));
        let head_end = 8 + 2 * CLASSIFY_HIDDEN * 4;
        assert!(err(&good[..head_end]).contains("empty"));
        let mut bad_text = good[..head_end].to_vec();
        bad_text.extend_from_slice(&[0xC3]);
        assert!(err(&bad_text).contains("UTF-8"));
        assert!(encode_classify_input(2, &head(3), &["t"]).is_err());
    }

    proptest! {
        #[test]
        fn any_accepted_embed_input_has_bounded_non_empty_utf8_texts(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            if let Ok(texts) = embed_texts(&bytes) {
                prop_assert!(!texts.is_empty() && texts.len() <= EMBED_MAX_BATCH);
                prop_assert!(texts.iter().all(|t| !t.is_empty()));
                prop_assert!(texts.iter().map(|t| t.len()).sum::<usize>() <= bytes.len());
            }
        }

        #[test]
        fn batches_round_trip(texts in proptest::collection::vec("[a-z é]{1,12}", 1..8)) {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let input = encode_embed_input(&refs).unwrap();
            prop_assert_eq!(embed_texts(&input).unwrap(), refs);
        }

        #[test]
        fn any_accepted_gemm_input_is_within_every_bound(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(s) = GemmI8Shape::parse(&bytes) {
                prop_assert!(s.m >= 1 && s.n >= 1 && s.k >= 1 && s.k <= GEMM_I8_MAX_K);
                prop_assert!(s.output_elements() <= GEMM_I8_MAX_OUTPUT_ELEMENTS);
                prop_assert_eq!(
                    bytes.len() as u64,
                    GEMM_I8_HEADER_BYTES as u64 + u64::from(s.m) * u64::from(s.k) + u64::from(s.k) * u64::from(s.n)
                );
            }
        }
    }
}
