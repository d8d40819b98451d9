#version 450
// Element-wise scaled sum of two int32 tensors, wrapping like two's complement:
//   y = a * ma + b * mb
// GLSL integer arithmetic keeps the low 32 bits on overflow, as Rust's wrapping ops do, so
// the result is defined for every input; the encoder's clamps keep it far from overflow.
// Reference: compute-node/src/ops.rs `add_reference`.

layout(local_size_x = 64) in;

layout(push_constant) uniform Params {
    uint total;
    int ma;
    int mb;
    uint pad0, pad1, pad2, pad3, pad4;
} p;

layout(std430, set = 0, binding = 0) readonly buffer ABuf { int a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { int b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YBuf { int y[]; };

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i >= p.total) {
        return;
    }
    y[i] = a[i] * p.ma + b[i] * p.mb;
}
