#version 450
// Narrows int32 rows to int8 and packs them in gemm-i8's operand layout: `rows0` rows of
// src0 followed by `rows - rows0` rows of src1, `cols` values each, every row zero-padded to
// `wpr` words, 4 int8 per little-endian word, lowest byte first. The batched encoder stacks
// the softmax probabilities' halves [hi; lo] this way for P·V; it proves every value lies in
// -128..=127 (see encoder.rs), so keeping the low byte loses nothing. Pure data movement.
// One invocation per output word.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint rows0;
    uint rows;
    uint cols;
    uint wpr;
    uint pad0, pad1, pad2, pad3;
} p;

layout(std430, set = 0, binding = 0) readonly buffer Src0 { int src0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src1 { int src1[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { uint dst[]; };

void main() {
    const uint w = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (w >= p.rows * p.wpr) {
        return;
    }
    const uint r = w / p.wpr;
    const uint c0 = (w % p.wpr) * 4u;
    uint word = 0u;
    for (uint e = 0u; e < 4u; ++e) {
        const uint c = c0 + e;
        if (c < p.cols) {
            const int v = r < p.rows0 ? src0[r * p.cols + c] : src1[(r - p.rows0) * p.cols + c];
            word |= (uint(v) & 0xFFu) << (8u * e);
        }
    }
    dst[w] = word;
}
