#!/usr/bin/env python3
"""Turns the Google Benchmark JSON of tools/bench.sh into the markdown tables of BENCHMARKS.md.

Every number is a median over repetitions; ratios compare against a baseline from the same run.
"""
import json
import re
import sys
from pathlib import Path


def medians(path):
    """name -> median row (real_time in ns, counters) for one benchmark JSON file."""
    rows = json.loads(Path(path).read_text())
    out = {}
    for b in rows["benchmarks"]:
        if b.get("aggregate_name", "median") == "median" and b.get("run_type") in ("aggregate", "iteration"):
            name = b["run_name"] if "run_name" in b else b["name"]
            out[re.sub(r"(/real_time)?(_median)?$", "", name)] = b
    return out, rows["context"]


def ns(row):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row["time_unit"]]
    return row["real_time"] * scale


def main(folder):
    folder = Path(folder)
    d, ctx = medians(folder / "dispatch.json")
    print(f"Machine: {ctx['num_cpus']} CPUs at {ctx['mhz_per_cpu']} MHz; library build: {ctx['library_build_type']}\n")
    print("| tiny op | through the runtime, ns | direct call, ns | dispatch overhead, ns |")
    print("|---|---|---|---|")
    for op, what in (("scale", "scale, 16 floats"), ("add", "add, 4×4"), ("gemm4", "gemm 4×4×4")):
        via, direct = ns(d[f"BM_{op}_dispatch"]), ns(d[f"BM_{op}_direct"])
        print(f"| {what} | {via:.0f} | {direct:.0f} | {via - direct:.0f} |")
    print()

    g, _ = medians(folder / "gemm.json")
    print("| GEMM M=N=K | runtime GFLOP/s | OpenBLAS f32 GFLOP/s | runtime / OpenBLAS |")
    print("|---|---|---|---|")
    for k, row in g.items():
        dtype, n = k[len("BM_gemm_"):].split("/")
        label = n if dtype == "f32" else f"{n}, {dtype} storage (f32 compute)"
        print(f"| {label} | {row['ours_GFLOP/s']:.1f} | {row['base_GFLOP/s']:.1f} | {row['ratio']:.3f} |")
    print()

    c, _ = medians(folder / "conv.json")
    print("| conv layer, batch 64 | pass | GFLOP/s | sgemm-1024 GFLOP/s (same run) | share of sgemm |")
    print("|---|---|---|---|---|")
    for k, row in c.items():
        layer, _, pass_ = row["label"].rpartition(" ")
        print(f"| {layer} | {pass_} | {row['ours_GFLOP/s']:.1f} | {row['base_GFLOP/s']:.1f} | {100 * row['ratio']:.0f}% |")
    print()

    k, _ = medians(folder / "codec.json")
    streaming = ("fp16", "bf16", "int8", "sign", "qsgd", "terngrad")
    print("| codec (25M floats) | compression | compress+decompress GB/s | memcpy GB/s (same run) | ratio | target |")
    print("|---|---|---|---|---|---|")
    for key, row in k.items():
        name = re.sub(r"/min_time:.*$", "", key[len("BM_codec/"):])
        target = "≥ 0.5" if name.split(":")[0] in streaming else "≥ 0.25" if name.startswith("topk_sampled") else ""
        print(f"| {name} | {row['compression']:.1f}× | {row['ours_GB/s']:.2f} | {row['memcpy_GB/s']:.2f} | "
              f"{row['ratio']:.2f} | {target} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench")
