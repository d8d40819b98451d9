#version 450
// gemm-i8: C[m x n] (int32) = A[m x k] (int8) * B[k x n] (int8), exact integer arithmetic.
//
// Layout (all row-major, see compute-node/src/gemm.rs for the host side):
//   A  : m rows of k16 uvec4 groups; a group holds 16 consecutive int8 of the row as 4
//        32-bit words, 4 int8 per word, lowest byte first; rows are zero-padded to 16 int8.
//   Bt : B transposed, n rows (one per column of B) of k16 groups, packed like A.
//   C  : m x n int32.
// Zero padding contributes 0 to every dot product, so only whole groups are handled here.
// The host proves k * 128 * 128 < 2^31, so no partial sum can overflow int32 and the
// result is the same on every driver, whatever the summation order.
//
// Tiling: a workgroup of WG_X x WG_Y invocations computes a BM x BN block of C, with
// BM = WG_Y * TM and BN = WG_X * TN; each invocation owns a TM x TN micro-tile whose rows
// are ty + i * WG_Y and columns tx + j * WG_X (strided, so neighbouring invocations read
// neighbouring shared entries). The k dimension is walked in slabs of BK16 groups staged in
// shared memory, stored k-major. Operands are moved as uvec4: on lavapipe every divergent
// load costs a per-lane loop, so fewer, wider loads and a large micro-tile matter most.
//
// Variants: built twice by build.rs. With USE_DOT the 4 x int8 products of a word pair
// are one OpSDot (SPV_KHR_integer_dot_product, packed 4x8 format), emitted through
// GL_EXT_spirv_intrinsics because the distribution's glslang lacks
// GL_EXT_integer_dot_product. Without it, bytes are sign-extended with bitfieldExtract.

#extension GL_EXT_spirv_intrinsics : require

#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 8
#endif

layout(constant_id = 0) const uint WG_X = 16;
layout(constant_id = 1) const uint WG_Y = 16;
layout(constant_id = 2) const uint BK16 = 4; // uvec4 groups (16 int8) of k per slab

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;

const uint BM = WG_Y * TM;
const uint BN = WG_X * TN;
const uint THREADS = WG_X * WG_Y;
// Fixed trip counts of the staging loops, so drivers can unroll them after specialization.
const uint LOADS_A = (BM * BK16 + THREADS - 1) / THREADS;
const uint LOADS_B = (BN * BK16 + THREADS - 1) / THREADS;

// The host splits k into chunks [k_begin, k_end) (in groups, k_begin a multiple of BK16), one
// dispatch each, because Mesa's llvmpipe/lavapipe silently leaves a shader's loops after a
// fixed budget of iterations (about 65535); `accumulate` is 0 for the first chunk, 1 after.
layout(push_constant) uniform Params {
    uint m;
    uint n;
    uint k16;
    uint k_begin;
    uint k_end;
    uint accumulate;
} p;

layout(std430, set = 0, binding = 0) readonly buffer ABuf { uvec4 a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { uvec4 bt[]; };
layout(std430, set = 0, binding = 2) buffer CBuf { int c[]; };

shared uvec4 sa[BK16 * BM];
shared uvec4 sb[BK16 * BN];

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
    // Batched products: batch z's A, Bt and C follow batch z-1's in their buffers, so its
    // row r is global row z*m + r (z*n + r of Bt). One product is batch 0.
    const uint a_base = gl_WorkGroupID.z * p.m;
    const uint b_base = gl_WorkGroupID.z * p.n;

    int acc[TM][TN];
    for (uint i = 0; i < TM; ++i) {
        for (uint j = 0; j < TN; ++j) {
            acc[i][j] = 0;
        }
    }

    for (uint k0 = p.k_begin; k0 < p.k_end; k0 += BK16) {
        // Stage the A and Bt slabs; consecutive invocations read consecutive groups of a row.
        for (uint it = 0; it < LOADS_A; ++it) {
            const uint idx = tid + it * THREADS;
            if (idx < BM * BK16) {
                const uint r = idx / BK16;
                const uint kk = idx % BK16;
                const uint gr = row0 + r;
                const uint gk = k0 + kk;
                sa[kk * BM + r] = (gr < p.m && gk < p.k_end) ? a[(a_base + gr) * p.k16 + gk] : uvec4(0u);
            }
        }
        for (uint it = 0; it < LOADS_B; ++it) {
            const uint idx = tid + it * THREADS;
            if (idx < BN * BK16) {
                const uint r = idx / BK16;
                const uint kk = idx % BK16;
                const uint gc = col0 + r;
                const uint gk = k0 + kk;
                sb[kk * BN + r] = (gc < p.n && gk < p.k_end) ? bt[(b_base + gc) * p.k16 + gk] : uvec4(0u);
            }
        }
        barrier();

        for (uint kk = 0; kk < BK16; ++kk) {
            uvec4 ra[TM];
            uvec4 rb[TN];
            for (uint i = 0; i < TM; ++i) {
                ra[i] = sa[kk * BM + ty + i * WG_Y];
            }
            for (uint j = 0; j < TN; ++j) {
                rb[j] = sb[kk * BN + tx + j * WG_X];
            }
            for (uint i = 0; i < TM; ++i) {
                for (uint j = 0; j < TN; ++j) {
                    acc[i][j] += dot4(ra[i].x, rb[j].x) + dot4(ra[i].y, rb[j].y)
                             + dot4(ra[i].z, rb[j].z) + dot4(ra[i].w, rb[j].w);
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
                const uint idx = (a_base + gr) * p.n + gc;
                c[idx] = p.accumulate != 0u ? c[idx] + acc[i][j] : acc[i][j];
            }
        }
    }
}
