#version 450
// Masked mean pooling and integer L2 normalisation of one sequence, in one workgroup:
//   count = max(number of rows with mask != 0, 1)
//   mean[c] = sign(sum) * (|sum| / count),  sum = sum of x[r][c] over masked rows (int32)
//   norm = max(isqrt(sum of mean[c]^2), 1)  (exact 64-bit sum, floor square root)
//   y[c] = sign(mean[c]) * ((|mean[c]| << F) / norm)   (64-bit numerator)
// The host checks rows * max|x| < 2^31, cols * max|x|^2 < 2^62 (so norm < 2^31),
// cols <= 1024 and F <= 30; |mean| <= norm keeps |y| <= 2^F.
// Reference: compute-node/src/ops.rs `pool_reference`.
//
// Built twice by build.rs. With BATCHED, workgroup gl_WorkGroupID.x is one
// sequence of a batch whose rows are stacked in x and mask: seq[s] = (first row, rows), and
// its embedding goes to row s of y. The per-sequence arithmetic is the same code.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint rows;
    uint cols;
    uint out_bits;
    uint pad0, pad1, pad2, pad3, pad4;
} p;

layout(std430, set = 0, binding = 0) readonly buffer XBuf { int x[]; };
layout(std430, set = 0, binding = 1) readonly buffer MBuf { uint mask[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YBuf { int y[]; };
#ifdef BATCHED
layout(std430, set = 0, binding = 3) readonly buffer SeqBuf { uvec2 seq[]; };
#endif

shared int s_mean[1024];
shared uvec2 s_sq[64];

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
    const uint tid = gl_LocalInvocationID.x;
#ifdef BATCHED
    const uint r0 = seq[gl_WorkGroupID.x].x;
    const uint rows = seq[gl_WorkGroupID.x].y;
    const uint y0 = gl_WorkGroupID.x * p.cols;
#else
    const uint r0 = 0u;
    const uint rows = p.rows;
    const uint y0 = 0u;
#endif
    uint count = 0u;
    for (uint r = 0u; r < rows; ++r) {
        count += mask[r0 + r] != 0u ? 1u : 0u;
    }
    count = max(count, 1u);

    uvec2 sq = uvec2(0u);
    for (uint c = tid; c < p.cols; c += 64u) {
        int sum = 0;
        for (uint r = 0u; r < rows; ++r) {
            if (mask[r0 + r] != 0u) {
                sum += x[(r0 + r) * p.cols + c];
            }
        }
        const uint a = uint(abs(sum)) / count;
        const int mean = sum < 0 ? -int(a) : int(a);
        s_mean[c] = mean;
        sq = add64(sq, square64(a));
    }
    s_sq[tid] = sq;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (tid < s) {
            s_sq[tid] = add64(s_sq[tid], s_sq[tid + s]);
        }
        barrier();
    }
    const uint norm = max(isqrt64(s_sq[0]), 1u);
    for (uint c = tid; c < p.cols; c += 64u) {
        const int mean = s_mean[c];
        const uint a = uint(abs(mean));
        // a << F as a 64-bit value (F <= 30).
        const uvec2 num = uvec2(a << p.out_bits, p.out_bits == 0u ? 0u : (a >> (32u - p.out_bits)));
        const int q = int(div64(num, norm).x);
        y[y0 + c] = mean < 0 ? -q : q;
    }
}
