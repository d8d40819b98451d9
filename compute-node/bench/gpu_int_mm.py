"""torch._int_mm (int8 x int8 -> int32 on CUDA) at the gemm-i8 bench sizes, GOP/s.

Counted like `deai-compute bench`: 2·m·n·k per product, best of several runs timed with
CUDA events, operands already on the device (so this is the kernel alone; the
`deai-compute` figure includes upload and readback: see the README). Also checks one
product against a CPU int64 reference.

Usage: python gpu_int_mm.py [MxNxK ...]
"""

import sys

import torch

SIZES = sys.argv[1:] or ["256x256x256", "1024x512x2048", "4096x512x14336"]


def gops(m, n, k, runs=20):
    a = torch.randint(-128, 128, (m, k), dtype=torch.int8, device="cuda")
    b = torch.randint(-128, 128, (k, n), dtype=torch.int8, device="cuda")
    c = torch._int_mm(a, b)
    torch.cuda.synchronize()
    if m * n * k <= 1 << 30:
        want = a.cpu().to(torch.int64) @ b.cpu().to(torch.int64)
        assert torch.equal(c.cpu().to(torch.int64), want), "torch._int_mm differs from int64"
    best = float("inf")
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch._int_mm(a, b)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    return best, 2.0 * m * n * k / best / 1e9


def main():
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    print("| size | torch._int_mm s | GOP/s |")
    print("| --- | ---: | ---: |")
    for s in SIZES:
        m, n, k = (int(v) for v in s.split("x"))
        secs, g = gops(m, n, k)
        print(f"| {s} | {secs:.5f} | {g:.1f} |")


if __name__ == "__main__":
    main()
