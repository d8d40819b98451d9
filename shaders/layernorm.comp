#version 450
// Integer LayerNorm (I-BERT style, integer square root), one workgroup per row of int32 x:
//   mean = trunc(sum / cols) (64-bit sum); y = x - mean; var = (sum of y^2) / cols (64-bit);
//   std = max(isqrt(var), 1) (floor square root, bit by bit);
//   out = sign(y) * ((|y| << F) / std)
// All divisions are on magnitudes, so rounding is toward zero by construction. The squares
// and their sum are exact 64-bit values kept as uvec2 (lo, hi), so no shaderInt64 is needed.
// The host checks cols <= 2^19, max - min < 2^31, cols * (max - min)^2 < 2^64 and
// (max - min) << F < 2^31.
// The affine part (gamma, beta) folds into the next requantization. Reference:
// compute-node/src/ibert.rs `layernorm_reference`.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint rows;
    uint cols;
    uint out_bits;
    uint pad0, pad1, pad2, pad3, pad4;
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YBuf { int y[]; };

shared uvec2 s_sum[64];
shared uvec2 s_sq[64];

// 64-bit helpers on uvec2 (x = low word, y = high word).
uvec2 add64(uvec2 a, uvec2 b) {
    uint carry;
    const uint lo = uaddCarry(a.x, b.x, carry);
    return uvec2(lo, a.y + b.y + carry);
}

uvec2 square64(uint v) {
    uint hi;
    uint lo;
    umulExtended(v, v, hi, lo);
    return uvec2(lo, hi);
}

bool le64(uvec2 a, uvec2 b) {
    return a.y < b.y || (a.y == b.y && a.x <= b.x);
}

// floor(v / d) for 0 < d < 2^31, by long division one bit at a time.
uvec2 div64(uvec2 v, uint d) {
    uvec2 q = uvec2(0u);
    uint r = 0u;
    for (int i = 63; i >= 0; --i) {
        const uint word = i >= 32 ? v.y : v.x;
        r = (r << 1) | ((word >> uint(i & 31)) & 1u);
        if (r >= d) {
            r -= d;
            if (i >= 32) {
                q.y |= 1u << uint(i - 32);
            } else {
                q.x |= 1u << uint(i);
            }
        }
    }
    return q;
}

// floor(sqrt(v)), fixing one bit of the root at a time from the top.
uint isqrt64(uvec2 v) {
    uint r = 0u;
    for (int b = 31; b >= 0; --b) {
        const uint c = r | (1u << uint(b));
        if (le64(square64(c), v)) {
            r = c;
        }
    }
    return r;
}

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= p.rows) {
        return; // uniform across the workgroup: every invocation leaves before any barrier
    }
    const uint tid = gl_LocalInvocationID.x;
    const uint base = row * p.cols;

    // Row sum in 64-bit two's complement: |sum| < 2^19 * 2^31 cannot overflow.
    uvec2 sum = uvec2(0u);
    for (uint c = tid; c < p.cols; c += 64u) {
        const int v = x[base + c];
        sum = add64(sum, uvec2(uint(v), v < 0 ? 0xFFFFFFFFu : 0u));
    }
    s_sum[tid] = sum;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_sum[tid] = add64(s_sum[tid], s_sum[tid + s]);
        }
        barrier();
    }
    const uvec2 total = s_sum[0];
    const bool negative = (total.y >> 31) != 0u;
    // |mean| <= max|x| < 2^31, so the quotient's low word is the whole magnitude.
    const uint mean_abs = div64(negative ? add64(~total, uvec2(1u, 0u)) : total, p.cols).x;
    const int mean = negative ? -int(mean_abs) : int(mean_abs);

    uvec2 sq = uvec2(0u);
    for (uint c = tid; c < p.cols; c += 64u) {
        sq = add64(sq, square64(uint(abs(x[base + c] - mean))));
    }
    s_sq[tid] = sq;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_sq[tid] = add64(s_sq[tid], s_sq[tid + s]);
        }
        barrier();
    }
    const uint std_dev = max(isqrt64(div64(s_sq[0], p.cols)), 1u);

    for (uint c = tid; c < p.cols; c += 64u) {
        const int d = x[base + c] - mean;
        y[base + c] = sign(d) * int((uint(abs(d)) << p.out_bits) / std_dev);
    }
}
