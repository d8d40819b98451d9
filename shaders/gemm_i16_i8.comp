#version 450
// gemm with int16 A and int8 B: C[m x n] (int32) = A[m x k] (int16) * B[k x n] (int8), exact.
//
// The batched encoder's linear layers: A holds each token's 14-bit activations q (what
// `IntEncoder`'s linear layer splits into int8 halves q = 128 hi + lo and multiplies as two
// int8 rows), so one product here equals 128 * (hi . w) + (lo . w) exactly, with half the
// multiply-adds. Exactness: the host only runs it with |q| <= 8192, |w| <= 127 and
// k <= 2048, so every partial sum is at most 8192 * 127 * 2048 < 2^31 in magnitude, in any
// summation order.
//
// Layout (host side in compute-node/src/vulkan.rs):
//   A  : m rows of k16 groups; a group holds 16 consecutive int16 of the row as 2 uvec4
//        (8 words, 2 int16 per word, lower half first); rows zero-padded to 16 values.
//   Bt : B transposed, n rows of k16 groups of 16 int8 (one uvec4), as in gemm_i8.comp.
//   C  : m x n int32.
// Tiling, k chunks (lavapipe's loop cap) and batches: as gemm_i8.comp, whose structure this
// follows; only the A slab is twice as wide.

#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 8
#endif

layout(constant_id = 0) const uint WG_X = 16;
layout(constant_id = 1) const uint WG_Y = 16;
layout(constant_id = 2) const uint BK16 = 4; // groups of 16 k-values per slab

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;

const uint BM = WG_Y * TM;
const uint BN = WG_X * TN;
const uint THREADS = WG_X * WG_Y;
const uint LOADS_A = (2u * BM * BK16 + THREADS - 1) / THREADS;
const uint LOADS_B = (BN * BK16 + THREADS - 1) / THREADS;

layout(push_constant) uniform Params {
    uint m;
    uint n;
    uint k16;     // groups of 16 k-values per row
    uint k_begin; // in groups
    uint k_end;
    uint accumulate;
} p;

layout(std430, set = 0, binding = 0) readonly buffer ABuf { uvec4 a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { uvec4 bt[]; };
layout(std430, set = 0, binding = 2) buffer CBuf { int c[]; };

// A slab: for group kk and row r, two uvec4 at (kk * BM + r) * 2 + h.
shared uvec4 sa[2u * BK16 * BM];
shared uvec4 sb[BK16 * BN];

// Four products: int16 pairs in words x0, x1 (k = 0..3) against the int8 of word y.
int dot4(uint x0, uint x1, uint y) {
    const int yi = int(y);
    return bitfieldExtract(int(x0), 0, 16) * bitfieldExtract(yi, 0, 8)
         + bitfieldExtract(int(x0), 16, 16) * bitfieldExtract(yi, 8, 8)
         + bitfieldExtract(int(x1), 0, 16) * bitfieldExtract(yi, 16, 8)
         + bitfieldExtract(int(x1), 16, 16) * bitfieldExtract(yi, 24, 8);
}

void main() {
    const uint tx = gl_LocalInvocationID.x;
    const uint ty = gl_LocalInvocationID.y;
    const uint tid = ty * WG_X + tx;
    const uint row0 = gl_WorkGroupID.y * BM;
    const uint col0 = gl_WorkGroupID.x * BN;
    const uint a_base = gl_WorkGroupID.z * p.m;
    const uint b_base = gl_WorkGroupID.z * p.n;

    int acc[TM][TN];
    for (uint i = 0; i < TM; ++i) {
        for (uint j = 0; j < TN; ++j) {
            acc[i][j] = 0;
        }
    }

    for (uint k0 = p.k_begin; k0 < p.k_end; k0 += BK16) {
        for (uint it = 0; it < LOADS_A; ++it) {
            const uint idx = tid + it * THREADS;
            if (idx < 2u * BM * BK16) {
                const uint half_ = idx % 2u;
                const uint r = (idx / 2u) / BK16;
                const uint kk = (idx / 2u) % BK16;
                const uint gr = row0 + r;
                const uint gk = k0 + kk;
                sa[(kk * BM + r) * 2u + half_] = (gr < p.m && gk < p.k_end)
                    ? a[((a_base + gr) * p.k16 + gk) * 2u + half_] : uvec4(0u);
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
            uvec4 ra0[TM];
            uvec4 ra1[TM];
            uvec4 rb[TN];
            for (uint i = 0; i < TM; ++i) {
                const uint s = (kk * BM + ty + i * WG_Y) * 2u;
                ra0[i] = sa[s];
                ra1[i] = sa[s + 1u];
            }
            for (uint j = 0; j < TN; ++j) {
                rb[j] = sb[kk * BN + tx + j * WG_X];
            }
            for (uint i = 0; i < TM; ++i) {
                for (uint j = 0; j < TN; ++j) {
                    acc[i][j] += dot4(ra0[i].x, ra0[i].y, rb[j].x) + dot4(ra0[i].z, ra0[i].w, rb[j].y)
                             + dot4(ra1[i].x, ra1[i].y, rb[j].z) + dot4(ra1[i].z, ra1[i].w, rb[j].w);
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
