#version 450
// Integer LayerNorm (I-BERT style, integer square root), one workgroup per row of int32 x:
//   mean = trunc(sum / cols); y = x - mean; var = (sum of y^2) / cols (uint32);
//   std = isqrt(var) (floor, digit by digit), at least 1;
//   out = sign(y) * ((|y| << F) / std)
// All divisions are on magnitudes, so rounding is toward zero by construction. The host
// checks cols * max|x| < 2^31, cols * (max - min)^2 < 2^32 and (max - min) << F < 2^31.
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

shared int s_sum[64];
shared uint s_sq[64];

uint isqrt(uint v) {
    uint res = 0u;
    uint bit = 1u << 30;
    for (uint i = 0u; i < 16u; ++i) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return res;
}

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= p.rows) {
        return; // uniform across the workgroup: every invocation leaves before any barrier
    }
    const uint tid = gl_LocalInvocationID.x;
    const uint base = row * p.cols;

    int sum = 0;
    for (uint c = tid; c < p.cols; c += 64u) {
        sum += x[base + c];
    }
    s_sum[tid] = sum;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_sum[tid] += s_sum[tid + s];
        }
        barrier();
    }
    const int total = s_sum[0];
    const int mean = sign(total) * int(uint(abs(total)) / p.cols);

    uint sq = 0u;
    for (uint c = tid; c < p.cols; c += 64u) {
        const uint d = uint(abs(x[base + c] - mean));
        sq += d * d;
    }
    s_sq[tid] = sq;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_sq[tid] += s_sq[tid + s];
        }
        barrier();
    }
    const uint std_dev = max(isqrt(s_sq[0] / p.cols), 1u);

    for (uint c = tid; c < p.cols; c += 64u) {
        const int d = x[base + c] - mean;
        y[base + c] = sign(d) * int((uint(abs(d)) << p.out_bits) / std_dev);
    }
}
