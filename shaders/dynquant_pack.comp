#version 450
// dynquant.comp's split mode (B <= 14 checked on the host) writing the int8 halves straight
// into gemm-i8's packed operand layout: the rows [hi; lo] of a linear layer's input, each
// row zero-padded to `wpr` words (16 int8 multiples), 4 int8 per little-endian word, lowest
// byte first. Row r's hi half is packed row r, its lo half packed row rows + r. Same
// per-row exponent k and the same formulas as dynquant.comp, so the values are those of
// `dynquant_split_reference`; hi lies in -64..=64 and lo in -64..=63, so a byte holds them.
// One workgroup per row, one invocation per output word pair.

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
        uint hw = 0u;
        uint lw = 0u;
        for (uint e = 0u; e < 4u; ++e) {
            const uint c = 4u * w + e;
            if (c < p.cols) {
                const int v = x[base + c];
                const int q = k == 0u ? v : (((v >> (k - 1u)) + 1) >> 1);
                const int qc = clamp(q, -int(p.qmax) - 1, int(p.qmax));
                const int hi = (qc + 64) >> 7;
                const int lo = qc - 128 * hi;
                hw |= (uint(hi) & 0xFFu) << (8u * e);
                lw |= (uint(lo) & 0xFFu) << (8u * e);
            }
        }
        y[row * p.wpr + w] = hw;
        y[(p.rows + row) * p.wpr + w] = lw;
    }
    if (tid == 0u) {
        kout[row] = k;
    }
}
