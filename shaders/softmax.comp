#version 450
// I-BERT integer softmax (Algorithm 3, shift-based i-exp), one workgroup per row of int32 q:
//   m = max(row); for each q: d = m - q >= 0; z = d / q_ln2; r = -d + z * q_ln2 (in (-q_ln2, 0]);
//   t = r + q_b; e = ((t * t + q_c) >> z) (0 when z >= 31);
//   s = sum(e); factor = (2^32 - 1) / s; out = (e * factor) >> (32 - F)   (uint32 math)
// Since e <= s, e * factor <= 2^32 - 1 fits in uint32, and out lies in [0, 2^F). The host
// checks max - min < 2^31, (q_ln2 + |q_b|)^2 + q_c < 2^31, q_c >= 0, q_b^2 + q_c >= 1 and
// cols * that bound < 2^32, so every step is exact. Reductions are integer max / sum, whose
// result does not depend on order. Reference: compute-node/src/ibert.rs `softmax_reference`.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint rows;
    uint cols;
    int q_ln2;
    int q_b;
    int q_c;
    uint out_bits;
    uint pad0, pad1;
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YBuf { uint y[]; };

shared int s_max[64];
shared uint s_sum[64];

uint iexp(int d) {
    const uint z = uint(d) / uint(p.q_ln2);
    const int r = int(z) * p.q_ln2 - d;
    const int t = r + p.q_b;
    const uint l = uint(t * t + p.q_c);
    return z >= 31u ? 0u : (l >> z);
}

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= p.rows) {
        return; // uniform across the workgroup: every invocation leaves before any barrier
    }
    const uint tid = gl_LocalInvocationID.x;
    const uint base = row * p.cols;

    int m = x[base];
    for (uint c = tid; c < p.cols; c += 64u) {
        m = max(m, x[base + c]);
    }
    s_max[tid] = m;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_max[tid] = max(s_max[tid], s_max[tid + s]);
        }
        barrier();
    }
    m = s_max[0];

    uint sum = 0u;
    for (uint c = tid; c < p.cols; c += 64u) {
        sum += iexp(m - x[base + c]);
    }
    s_sum[tid] = sum;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_sum[tid] += s_sum[tid + s];
        }
        barrier();
    }
    const uint factor = 0xFFFFFFFFu / s_sum[0];

    for (uint c = tid; c < p.cols; c += 64u) {
        y[base + c] = (iexp(m - x[base + c]) * factor) >> (32u - p.out_bits);
    }
}
