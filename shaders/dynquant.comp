#version 450
// Dynamic per-row quantization int32 -> B-bit signed integers (8 <= B <= 16) with a
// power-of-two scale, one workgroup per row; qmax = 2^(B-1) - 1:
//   amax = max |x| (as uint, so |INT_MIN| = 2^31);
//   k = the least k >= 0 with (amax + r_k) >> k <= qmax, where r_0 = 0, r_k = 2^(k-1);
//   q = clamp(k == 0 ? x : ((x >> (k - 1)) + 1) >> 1, -qmax - 1, qmax)
// ((x >> (k-1)) + 1) >> 1 equals (x + 2^(k-1)) >> k (round half up) without overflow.
// k <= 25 since amax <= 2^31 and qmax >= 127. Outputs q (int32) and k per row.
// With split != 0 (host checks B <= 14) it writes instead the int8 halves of q = 128 hi + lo:
//   hi = (q + 64) >> 7 (round half up, in -64..=64) to y, lo = q - 128 hi (-64..=63) to y_lo.
// Reference: compute-node/src/ops.rs `dynquant_reference`.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint rows;
    uint cols;
    uint qmax;
    uint split;
    uint pad1, pad2, pad3, pad4;
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YBuf { int y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer KBuf { uint kout[]; };
layout(std430, set = 0, binding = 3) writeonly buffer LoBuf { int y_lo[]; };

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
    for (uint c = tid; c < p.cols; c += 64u) {
        const int v = x[base + c];
        const int q = k == 0u ? v : (((v >> (k - 1u)) + 1) >> 1);
        const int qc = clamp(q, -int(p.qmax) - 1, int(p.qmax));
        if (p.split != 0u) {
            const int hi = (qc + 64) >> 7;
            y[base + c] = hi;
            y_lo[base + c] = qc - 128 * hi;
        } else {
            y[base + c] = qc;
        }
    }
    if (tid == 0u) {
        kout[row] = k;
    }
}
