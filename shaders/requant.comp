#version 450
// Requantization int32 -> int8 with per-column (multiplier, shift) pairs:
//   y = clamp((x * mult[col] + 2^(shift[col] - 1)) >> shift[col], -128, 127)
// with the product and the rounding add done exactly in 64 bits (imulExtended), an
// arithmetic right shift (rounding half up), 0 <= mult < 2^31 and 1 <= shift <= 62 checked
// on the host, so |x * mult| + 2^61 < 2^63 never overflows. Reference:
// compute-node/src/ibert.rs `requantize_reference`.
//
// Input: rows x cols int32, row-major, flattened to `total` elements. Output: the int8
// results packed 4 per little-endian word over the flattened index (word w holds elements
// 4w .. 4w+3, lowest byte first); one invocation per output word.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint total;
    uint cols;
    uint pad0, pad1, pad2, pad3, pad4, pad5;
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) readonly buffer MBuf { int mult[]; };
layout(std430, set = 0, binding = 2) readonly buffer SBuf { uint shift[]; };
layout(std430, set = 0, binding = 3) writeonly buffer YBuf { uint y[]; };

int requant(int v, int m, uint s) {
    int hi;
    int lo_i;
    imulExtended(v, m, hi, lo_i);
    uint lo = uint(lo_i);
    // Add 2^(s - 1) to the 64-bit product (hi:lo).
    const uint rlo = s <= 32u ? (1u << (s - 1u)) : 0u;
    const uint rhi = s > 32u ? (1u << (s - 33u)) : 0u;
    uint carry;
    lo = uaddCarry(lo, rlo, carry);
    hi = hi + int(rhi) + int(carry);
    // Arithmetic shift right of (hi:lo) by s.
    int rh;
    uint rl;
    if (s < 32u) {
        rl = (lo >> s) | (uint(hi) << (32u - s));
        rh = hi >> s;
    } else if (s == 32u) {
        rl = uint(hi);
        rh = hi >> 31;
    } else {
        rl = uint(hi >> (s - 32u));
        rh = hi >> 31;
    }
    // Saturate the 64-bit value (rh:rl) to int8.
    if (rh > 0 || (rh == 0 && rl > 127u)) {
        return 127;
    }
    if (rh < -1 || (rh == -1 && rl < 0xFFFFFF80u)) {
        return -128;
    }
    return int(rl);
}

void main() {
    const uint w = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    const uint first = w * 4u;
    if (first >= p.total) {
        return;
    }
    uint word = 0u;
    for (uint e = 0u; e < 4u; ++e) {
        const uint i = first + e;
        if (i < p.total) {
            const uint col = i % p.cols;
            const int q = requant(x[i], mult[col], shift[col]);
            word |= (uint(q) & 0xFFu) << (8u * e);
        }
    }
    y[w] = word;
}
