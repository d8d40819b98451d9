//! Compiles the GLSL compute shaders in `../shaders` to SPIR-V with `glslc`.
//!
//! We shell out to the system `glslc` instead of using `vulkano-shaders`/`shaderc`, whose
//! from-source build of shaderc takes far longer than the whole crate. Each output is written
//! to `OUT_DIR` and embedded by `src/shaders.rs` with `include_bytes!`.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

/// One SPIR-V module to build: output name, source file, preprocessor defines.
struct Variant {
    out: &'static str,
    src: &'static str,
    defines: &'static [&'static str],
}

const VARIANTS: &[Variant] = &[
    Variant {
        out: "gemm_i8_plain.spv",
        src: "gemm_i8.comp",
        defines: &[],
    },
    Variant {
        out: "gemm_i8_dot.spv",
        src: "gemm_i8.comp",
        defines: &["USE_DOT=1"],
    },
    Variant {
        out: "gemm_i16_i8.spv",
        src: "gemm_i16_i8.comp",
        defines: &[],
    },
    Variant {
        out: "requant.spv",
        src: "requant.comp",
        defines: &[],
    },
    Variant {
        out: "gelu.spv",
        src: "gelu.comp",
        defines: &[],
    },
    Variant {
        out: "softmax.spv",
        src: "softmax.comp",
        defines: &[],
    },
    Variant {
        out: "layernorm.spv",
        src: "layernorm.comp",
        defines: &[],
    },
    Variant {
        out: "affine.spv",
        src: "affine.comp",
        defines: &[],
    },
    Variant {
        out: "add.spv",
        src: "add.comp",
        defines: &[],
    },
    Variant {
        out: "dynquant.spv",
        src: "dynquant.comp",
        defines: &[],
    },
    Variant {
        out: "pool.spv",
        src: "pool.comp",
        defines: &[],
    },
    Variant {
        out: "pool_batched.spv",
        src: "pool.comp",
        defines: &["BATCHED=1"],
    },
    Variant {
        out: "gather.spv",
        src: "gather.comp",
        defines: &[],
    },
    Variant {
        out: "gather_pack.spv",
        src: "gather_pack.comp",
        defines: &[],
    },
    Variant {
        out: "pack_rows.spv",
        src: "pack_rows.comp",
        defines: &[],
    },
    Variant {
        out: "dynquant_pack.spv",
        src: "dynquant_pack.comp",
        defines: &[],
    },
];

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let shader_dir = manifest.join("..").join("shaders");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let glslc = env::var("GLSLC").unwrap_or_else(|_| "glslc".to_owned());
    println!("cargo:rerun-if-env-changed=GLSLC");
    println!("cargo:rerun-if-changed={}", shader_dir.display());

    for v in VARIANTS {
        let src = shader_dir.join(v.src);
        println!("cargo:rerun-if-changed={}", src.display());
        compile(&glslc, &src, &out_dir.join(v.out), v.defines);
    }
}

fn compile(glslc: &str, src: &Path, out: &Path, defines: &[&str]) {
    let mut cmd = Command::new(glslc);
    // Vulkan 1.1 / SPIR-V 1.3 keeps the modules loadable on older drivers; the integer
    // dot product comes in through SPV_KHR_integer_dot_product instead of SPIR-V 1.6.
    cmd.arg("--target-env=vulkan1.1").arg("-O").arg("-Werror");
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg(src).arg("-o").arg(out);
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => panic!(
            "deai-compute: could not run `{glslc}` ({e}). The GLSL compute shaders are compiled \
             to SPIR-V at build time by glslc: install it with `apt-get install glslc` \
             (Debian/Ubuntu) or point the GLSLC environment variable at a glslc binary."
        ),
    };
    if !status.success() {
        panic!(
            "deai-compute: `{glslc}` failed to compile {} ({status})",
            src.display()
        );
    }
}
