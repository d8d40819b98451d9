#version 450
// dynquant.comp's per-row quantization to B-bit integers (B <= 15 checked on the host),
// writing the values as packed int16 rows for gemm_i16_i8.comp: each row zero-padded to
// `wpr` words (multiples of 16 values), 2 int16 per little-endian word, lower half first.
// Same per-row exponent k and the same formulas as dynquant.comp, so the values are those
// of `dynquant_reference` (and q = 128 hi + lo of `dynquant_split_reference`, the two int8
// halves the per-kernel encoder multiplies separately). One workgroup per row.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint rows;
    uint cols;
    uint qmax;
    uint wpr;
    uint pad1, pad2, pad3, pad4;
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YBuf { uint y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer KBuf { uint kout[]; };

shared uint s_max[64];

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= p.rows) {
        return; // uniform across the workgroup
    }
    const uint tid = gl_LocalInvocationID.x;
    const uint base = row * p.cols;
    uint m = 0u;
    for (uint c = tid; c < p.cols; c += 64u) {
        m = max(m, uint(abs(x[base + c])));
    }
    s_max[tid] = m;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_max[tid] = max(s_max[tid], s_max[tid + s]);
        }
        barrier();
    }
    const uint amax = s_max[0];
    uint k = 0u;
    while (((amax + (k > 0u ? (1u << (k - 1u)) : 0u)) >> k) > p.qmax) {
        k += 1u;
    }
    for (uint w = tid; w < p.wpr; w += 64u) {
        uint word = 0u;
        for (uint e = 0u; e < 2u; ++e) {
            const uint c = 2u * w + e;
            if (c < p.cols) {
                const int v = x[base + c];
                const int q = k == 0u ? v : (((v >> (k - 1u)) + 1) >> 1);
                const int qc = clamp(q, -int(p.qmax) - 1, int(p.qmax));
                word |= (uint(qc) & 0xFFFFu) << (16u * e);
            }
        }
        y[row * p.wpr + w] = word;
    }
    if (tid == 0u) {
        kout[row] = k;
    }
}
