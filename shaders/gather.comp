#version 450
// Generic int32 gather driven by a host-made index table, for the batched encoder's data
// movement (attention head split and merge, exponent broadcast):
//   dst[i] = idx[i] == 0xFFFFFFFF ? 0 : src[idx[i]]
// Pure data movement: no arithmetic on the values, so the result is the same on every
// driver. The host builds every index below the length of src.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint total;
    uint pad0, pad1, pad2, pad3, pad4, pad5, pad6;
} p;

layout(std430, set = 0, binding = 0) readonly buffer Src { int src[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { uint idx[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { int dst[]; };

const uint NONE = 0xFFFFFFFFu;

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i >= p.total) {
        return;
    }
    const uint j = idx[i];
    int v = 0;
    if (j != NONE) {
        v = src[j];
    }
    dst[i] = v;
}
