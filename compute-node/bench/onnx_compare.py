"""onnxruntime figures beside `deai-compute bench --backends`, on the same machine and run.

* all-MiniLM-L6-v2 in fp32 and dynamically quantized to int8
  (`onnxruntime.quantization.quantize_dynamic`, u8 activations x s8 weights), 2 intra-op
  threads, over the same 32 sentences `deai-compute bench --backends` embeds
  (`BENCH_SENTENCES` repeated 4 times), both one sentence per run (as the node embeds)
  and as one padded batch of 32; the best is reported.
* one int8 product, MatMulInteger u8 x s8 -> int32, at 4096x512x14336, 2 threads.

No torch: the BERT graph is written directly with `onnx.helper` from the safetensors
weights (same tensors `deai-compute` reads), and its fp32 output is checked against the
integer embedding's float view printed by `deai-compute run` (cosine), so the graph is
known to be the model.

Usage: python onnx_compare.py MODEL_DIR DEAI_COMPUTE_BINARY
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file
from tokenizers import Tokenizer

THREADS = 2
BATCH = 32


def find(root, name):
    for dirpath, _, files in os.walk(root):
        if name in files:
            return os.path.join(dirpath, name)
    sys.exit(f"no {name} under {root}")


def bench_sentences():
    """BENCH_SENTENCES from compute-node/src/bench.rs (the Rust source is the truth)."""
    here = os.path.dirname(os.path.abspath(__file__))
    src = open(os.path.join(here, "..", "src", "bench.rs"), encoding="utf-8").read()
    block = src[src.index("pub const BENCH_SENTENCES"):]
    block = block[: block.index("];")]
    # Rust string literals with `\` line continuations.
    out = []
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', block, re.S):
        out.append(re.sub(r"\\\n\s*", "", lit))
    return out


def build_bert(weights, cfg):
    """all-MiniLM-L6-v2 as an ONNX graph: BERT encoder, masked mean pooling, L2 norm."""
    h = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    d = h // heads
    pre = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
    inits, nodes = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, ins, outs=None, **kw):
        node.n += 1
        outs = outs or [f"{op}_{node.n}"]
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    node.n = 0
    w = lambda n: weights[pre + n].astype(np.float32)

    def linear(x, prefix):
        wt = init(prefix + ".wT", w(prefix + ".weight").T)
        b = init(prefix + ".b", w(prefix + ".bias"))
        return node("Add", [node("MatMul", [x, wt]), b])

    def layernorm(x, prefix):
        g = init(prefix + ".g", w(prefix + ".weight"))
        b = init(prefix + ".b", w(prefix + ".bias"))
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=1e-12)

    e = "embeddings."
    word = node("Gather", [init("word", w(e + "word_embeddings.weight")), "input_ids"])
    # Position ids 0..S-1 per row: a cumulative sum of ones, minus one.
    ones = node("ConstantOfShape", [node("Shape", ["input_ids"])],
                value=numpy_helper.from_array(np.array([1], np.int64)))
    pos_ids = node("Sub", [node("CumSum", [ones, init("axis1", np.array(1, np.int64))]),
                           init("one", np.array(1, np.int64))])
    pos = node("Gather", [init("pos", w(e + "position_embeddings.weight")), pos_ids])
    typ = node("Gather", [init("typ", w(e + "token_type_embeddings.weight")), "token_type_ids"])
    x = layernorm(node("Add", [node("Add", [word, pos]), typ]), e + "LayerNorm")

    # Additive mask: (1 - mask) * -1e4, shape [B, 1, 1, S].
    maskf = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    ext = node("Unsqueeze", [maskf, init("ax12", np.array([1, 2], np.int64))])
    neg = node("Mul", [node("Sub", [init("f1", np.array(1.0, np.float32)), ext]),
                       init("big", np.array(-1e4, np.float32))])
    split_shape = init("split_shape", np.array([0, -1, heads, d], np.int64))
    merge_shape = init("merge_shape", np.array([0, -1, h], np.int64))
    scale = init("scale", np.array(1.0 / np.sqrt(d), np.float32))
    for i in range(cfg["num_hidden_layers"]):
        l = f"encoder.layer.{i}."
        heads_of = lambda t, perm: node("Transpose", [node("Reshape", [t, split_shape])], perm=perm)
        q = heads_of(linear(x, l + "attention.self.query"), [0, 2, 1, 3])
        k = heads_of(linear(x, l + "attention.self.key"), [0, 2, 3, 1])
        v = heads_of(linear(x, l + "attention.self.value"), [0, 2, 1, 3])
        s = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), neg])
        p = node("Softmax", [s], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [p, v])], perm=[0, 2, 1, 3]), merge_shape])
        a = linear(ctx, l + "attention.output.dense")
        x = layernorm(node("Add", [a, x]), l + "attention.output.LayerNorm")
        u = linear(x, l + "intermediate.dense")
        # Exact (erf) GELU, as BERT.
        g = node("Mul", [node("Mul", [u, init(f"half{i}", np.array(0.5, np.float32))]),
                         node("Add", [node("Erf", [node("Div", [u, init(f"sq2{i}", np.array(np.sqrt(2.0), np.float32))])]),
                                      init(f"one{i}", np.array(1.0, np.float32))])])
        o = linear(g, l + "output.dense")
        x = layernorm(node("Add", [o, x]), l + "output.LayerNorm")
    m3 = node("Unsqueeze", [maskf, init("ax2", np.array([2], np.int64))])
    summed = node("ReduceSum", [node("Mul", [x, m3]), init("ax1", np.array([1], np.int64))], keepdims=0)
    count = node("Max", [node("ReduceSum", [maskf, "ax1"], keepdims=1), init("eps", np.array(1e-9, np.float32))])
    mean = node("Div", [summed, count])
    norm = node("Max", [node("ReduceL2", [mean, init("axm1", np.array([-1], np.int64))], keepdims=1),
                        init("eps2", np.array(1e-12, np.float32))])
    node("Div", [mean, norm], ["embedding"])
    ins = [helper.make_tensor_value_info(nm, TensorProto.INT64, ["batch", "seq"])
           for nm in ("input_ids", "token_type_ids", "attention_mask")]
    out = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h])]
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", ins, out, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def session(path):
    o = ort.SessionOptions()
    o.intra_op_num_threads = THREADS
    o.inter_op_num_threads = 1
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def best_time(f, min_secs=2.0, max_runs=20):
    f()
    best, start, runs = float("inf"), time.perf_counter(), 0
    while True:
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
        runs += 1
        if runs >= max_runs or time.perf_counter() - start >= min_secs:
            return best


def feeds(encs):
    n = max(len(e.ids) for e in encs)
    pad = lambda xs: [x + [0] * (n - len(x)) for x in xs]
    return {
        "input_ids": np.array(pad([e.ids for e in encs]), np.int64),
        "token_type_ids": np.array(pad([e.type_ids for e in encs]), np.int64),
        "attention_mask": np.array(pad([e.attention_mask for e in encs]), np.int64),
    }


def embed_rates(path, encs):
    s = session(path)
    singles = [feeds([e]) for e in encs]
    one = best_time(lambda: [s.run(None, f) for f in singles])
    batched = feeds(encs)
    batch = best_time(lambda: s.run(None, batched))
    return len(encs) / one, len(encs) / batch, s.run(None, singles[0])[0][0]


def matmul_integer_gops(m, n, k, tmp):
    a = helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])
    b = numpy_helper.from_array(np.random.default_rng(1).integers(-128, 128, (k, n), dtype=np.int8), "B")
    y = helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])
    g = helper.make_graph([helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "mmi", [a], [y], [b])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(tmp, "mmi.onnx")
    onnx.save(model, path)
    s = session(path)
    x = np.random.default_rng(2).integers(0, 256, (m, k), dtype=np.uint8)
    t = best_time(lambda: s.run(None, {"A": x}), min_secs=1.0, max_runs=5)
    return 2.0 * m * n * k / t / 1e9


def main():
    model_dir, binary = sys.argv[1], sys.argv[2]
    st = find(model_dir, "model.safetensors")
    cfg = json.load(open(os.path.join(os.path.dirname(st), "config.json")))
    tok = Tokenizer.from_file(os.path.join(os.path.dirname(st), "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    sentences = bench_sentences()
    encs = [tok.encode(s) for s in (sentences * BATCH)[:BATCH]]
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}, "
          f"{THREADS} intra-op threads, {len(encs)} sequences, "
          f"{sum(len(e.ids) for e in encs)} tokens")
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = os.path.join(tmp, "minilm.onnx")
        onnx.save(build_bert(load_file(st), cfg), fp32)
        int8 = os.path.join(tmp, "minilm.int8.onnx")
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
        rows = []
        first = {}
        for name, path in (("onnxruntime fp32", fp32), ("onnxruntime int8 (dynamic)", int8)):
            one, batch, emb = embed_rates(path, encs)
            first[name] = emb
            rows.append((name, one, batch))
        gops = matmul_integer_gops(4096, 512, 14336, tmp)

    # The graph is the model: its fp32 embedding of the first sentence against the
    # integer embedding's float view from `deai-compute run`.
    run = subprocess.run([binary, "run", "--model", model_dir, "--text", sentences[0]],
                         capture_output=True, text=True, check=True).stdout
    ours = np.array([float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", run.split("[")[-1])],
                    np.float64)
    for name, emb in first.items():
        if ours.shape == emb.shape:
            cos = float(ours @ emb / np.linalg.norm(ours) / np.linalg.norm(emb))
            print(f"cosine({name}, deai integer) on {sentences[0]!r}: {cos:.4f}")

    print()
    print("| onnxruntime | emb/s one sentence per run | emb/s padded batch of 32 |")
    print("| --- | ---: | ---: |")
    for name, one, batch in rows:
        print(f"| {name} | {one:.1f} | {batch:.1f} |")
    print()
    print(f"| onnxruntime MatMulInteger u8 x s8 4096x512x14336 | {gops:.1f} GOP/s |")
    print()
    sys.stdout.flush()
    subprocess.run([binary, "bench", "--backends", "--sizes", "4096x512x14336",
                    "--model", model_dir], check=True)


if __name__ == "__main__":
    main()
