#version 450
// gemm-i8: C[m x n] (int32) = A[m x k] (int8) * B[k x n] (int8), exact integer arithmetic.
//
// Layout (all row-major, see compute-node/src/gemm.rs for the host side):
//   A  : m rows of kw 32-bit words; each word packs 4 consecutive int8 of a row of A,
//        lowest byte first; a row is zero-padded to a multiple of 4 elements.
//   Bt : B transposed, n rows (one per column of B) of kw words, packed like A.
//   C  : m x n int32.
// Zero padding contributes 0 to every dot product, so only whole words are handled here.
// The host proves k * 128 * 128 < 2^31, so no partial sum can overflow int32 and the
// result is the same on every driver, whatever the summation order.
//
// Tiling: a workgroup of WG_X x WG_Y invocations computes a BM x BN block of C, with
// BM = WG_Y * TM and BN = WG_X * TN; each invocation owns a TM x TN micro-tile whose rows
// are ty + i * WG_Y and columns tx + j * WG_X (strided, so neighbouring invocations read
// neighbouring shared words). The k dimension is walked in slabs of BKW words staged in
// shared memory, stored k-major.
//
// Variants: built twice by build.rs. With USE_DOT the 4 x int8 products of a word pair
// are one OpSDot (SPV_KHR_integer_dot_product, packed 4x8 format), emitted through
// GL_EXT_spirv_intrinsics because the distribution's glslang lacks
// GL_EXT_integer_dot_product. Without it, bytes are sign-extended with bitfieldExtract.

#extension GL_EXT_spirv_intrinsics : require

#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 4
#endif

layout(constant_id = 0) const uint WG_X = 16;
layout(constant_id = 1) const uint WG_Y = 16;
layout(constant_id = 2) const uint BKW = 8;

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;

const uint BM = WG_Y * TM;
const uint BN = WG_X * TN;
const uint THREADS = WG_X * WG_Y;
// Fixed trip counts of the staging loops, so drivers can unroll them after specialization.
const uint LOADS_A = (BM * BKW + THREADS - 1) / THREADS;
const uint LOADS_B = (BN * BKW + THREADS - 1) / THREADS;

// The host splits k into chunks [k_begin, k_end) (in words, k_begin a multiple of BKW), one
// dispatch each, because Mesa's llvmpipe/lavapipe silently leaves a shader's loops after a
// fixed budget of iterations (about 65535); `accumulate` is 0 for the first chunk, 1 after.
layout(push_constant) uniform Params {
    uint m;
    uint n;
    uint kw;
    uint k_begin;
    uint k_end;
    uint accumulate;
} p;

layout(std430, set = 0, binding = 0) readonly buffer ABuf { uint a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { uint bt[]; };
layout(std430, set = 0, binding = 2) buffer CBuf { int c[]; };

shared uint sa[BKW * BM];
shared uint sb[BKW * BN];

#ifdef USE_DOT
// OpSDot (4450) with PackedVectorFormat4x8Bit (0); capabilities DotProduct (6019) and
// DotProductInput4x8BitPacked (6018).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_packed(int x, int y, spirv_literal int packed_format);

int dot4(uint x, uint y) {
    return sdot_packed(int(x), int(y), 0);
}
#else
int dot4(uint x, uint y) {
    int xi = int(x);
    int yi = int(y);
    return bitfieldExtract(xi, 0, 8) * bitfieldExtract(yi, 0, 8)
         + bitfieldExtract(xi, 8, 8) * bitfieldExtract(yi, 8, 8)
         + bitfieldExtract(xi, 16, 8) * bitfieldExtract(yi, 16, 8)
         + bitfieldExtract(xi, 24, 8) * bitfieldExtract(yi, 24, 8);
}
#endif

void main() {
    const uint tx = gl_LocalInvocationID.x;
    const uint ty = gl_LocalInvocationID.y;
    const uint tid = ty * WG_X + tx;
    const uint row0 = gl_WorkGroupID.y * BM;
    const uint col0 = gl_WorkGroupID.x * BN;

    int acc[TM][TN];
    for (uint i = 0; i < TM; ++i) {
        for (uint j = 0; j < TN; ++j) {
            acc[i][j] = 0;
        }
    }

    for (uint k0 = p.k_begin; k0 < p.k_end; k0 += BKW) {
        // Stage the A and Bt slabs; consecutive invocations read consecutive words of a row.
        for (uint it = 0; it < LOADS_A; ++it) {
            const uint idx = tid + it * THREADS;
            if (idx < BM * BKW) {
                const uint r = idx / BKW;
                const uint kk = idx % BKW;
                const uint gr = row0 + r;
                const uint gk = k0 + kk;
                sa[kk * BM + r] = (gr < p.m && gk < p.k_end) ? a[gr * p.kw + gk] : 0u;
            }
        }
        for (uint it = 0; it < LOADS_B; ++it) {
            const uint idx = tid + it * THREADS;
            if (idx < BN * BKW) {
                const uint r = idx / BKW;
                const uint kk = idx % BKW;
                const uint gc = col0 + r;
                const uint gk = k0 + kk;
                sb[kk * BN + r] = (gc < p.n && gk < p.k_end) ? bt[gc * p.kw + gk] : 0u;
            }
        }
        barrier();

        for (uint kk = 0; kk < BKW; ++kk) {
            uint ra[TM];
            uint rb[TN];
            for (uint i = 0; i < TM; ++i) {
                ra[i] = sa[kk * BM + ty + i * WG_Y];
            }
            for (uint j = 0; j < TN; ++j) {
                rb[j] = sb[kk * BN + tx + j * WG_X];
            }
            for (uint i = 0; i < TM; ++i) {
                for (uint j = 0; j < TN; ++j) {
                    acc[i][j] += dot4(ra[i], rb[j]);
                }
            }
        }
        barrier();
    }

    for (uint i = 0; i < TM; ++i) {
        const uint gr = row0 + ty + i * WG_Y;
        if (gr >= p.m) {
            continue;
        }
        for (uint j = 0; j < TN; ++j) {
            const uint gc = col0 + tx + j * WG_X;
            if (gc < p.n) {
                const uint idx = gr * p.n + gc;
                c[idx] = p.accumulate != 0u ? c[idx] + acc[i][j] : acc[i][j];
            }
        }
    }
}
