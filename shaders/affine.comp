#version 450
// Per-column affine requantization int32 -> int32, with a per-row shift offset, of
// x = a (one input) or x = a * ma + b * mb (two inputs, wrapping int32 as add.comp):
//   s = shift[col] - row_shift[row]                      (host checks 1 <= s <= 62)
//   v = ((x * mult[col] + 2^(s - 1)) >> s) + bias[col]   (exact 64-bit, arithmetic shift)
//   y = clamp(v, lo, hi)
// mult and bias are any int32; |x * mult| <= 2^62, so adding 2^61 and then a 32-bit bias
// never leaves 64 bits. The per-row offset carries a dynamic power-of-two input scale (see
// dynquant.comp). Reference: compute-node/src/ops.rs `affine_reference` and
// `affine_sum_reference`.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint total;
    uint cols;
    int lo;
    int hi;
    int ma;
    int mb;
    uint two_inputs;
    uint x2_off; // element offset into x2 (its rows may follow x's in one buffer)
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) readonly buffer MBuf { int mult[]; };
layout(std430, set = 0, binding = 2) readonly buffer SBuf { uint shift[]; };
layout(std430, set = 0, binding = 3) readonly buffer BBuf { int bias[]; };
layout(std430, set = 0, binding = 4) readonly buffer RBuf { uint row_shift[]; };
layout(std430, set = 0, binding = 5) writeonly buffer YBuf { int y[]; };
layout(std430, set = 0, binding = 6) readonly buffer X2Buf { int x2[]; };

// Signed 64-bit (hi, lo) less-than.
bool lt64(int ah, uint al, int bh, uint bl) {
    return ah < bh || (ah == bh && al < bl);
}

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i >= p.total) {
        return;
    }
    const uint col = i % p.cols;
    const uint row = i / p.cols;
    const uint s = shift[col] - row_shift[row];
    int hi;
    int lo_i;
    const int xv = p.two_inputs != 0u ? x[i] * p.ma + x2[i + p.x2_off] * p.mb : x[i];
    imulExtended(xv, mult[col], hi, lo_i);
    uint lo = uint(lo_i);
    const uint rlo = s <= 32u ? (1u << (s - 1u)) : 0u;
    const uint rhi = s > 32u ? (1u << (s - 33u)) : 0u;
    uint carry;
    lo = uaddCarry(lo, rlo, carry);
    hi = hi + int(rhi) + int(carry);
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
    // Add the sign-extended bias.
    const int b = bias[col];
    rl = uaddCarry(rl, uint(b), carry);
    rh = rh + (b < 0 ? -1 : 0) + int(carry);
    int v;
    if (lt64(p.hi >> 31, uint(p.hi), rh, rl)) {
        v = p.hi;
    } else if (lt64(rh, rl, p.lo >> 31, uint(p.lo))) {
        v = p.lo;
    } else {
        v = int(rl);
    }
    y[i] = v;
}
