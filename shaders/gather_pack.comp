#version 450
// gather.comp's index-driven gather, narrowing int32 values to int8 and packing them 4 per
// little-endian word (lowest byte first): the gemm-i8 operand layout, zero padding included
// (padding bytes have the index 0xFFFFFFFF). Used for the attention operands: Q and K rows,
// V transposed, and the probabilities' [hi; lo] halves. The encoder proves every value it
// narrows lies in -128..=127 (see encoder.rs), so keeping the low byte loses nothing.
// One invocation per output word.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint words;
    uint pad0, pad1, pad2, pad3, pad4, pad5, pad6;
} p;

layout(std430, set = 0, binding = 0) readonly buffer Src { int src[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { uint idx[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { uint dst[]; };

const uint NONE = 0xFFFFFFFFu;

void main() {
    const uint w = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (w >= p.words) {
        return;
    }
    uint word = 0u;
    for (uint e = 0u; e < 4u; ++e) {
        const uint j = idx[4u * w + e];
        if (j != NONE) {
            const int v = src[j];
            word |= (uint(v) & 0xFFu) << (8u * e);
        }
    }
    dst[w] = word;
}
