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
            out[re.sub(r"_median$", "", b["run_name"] if "run_name" in b else b["name"])] = b
    return out, rows["context"]


def ns(row):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row["time_unit"]]
    return row["real_time"] * scale


def main(folder):
    folder = Path(folder)
    d, ctx = medians(folder / "dispatch.json")
    print(f"Machine: {ctx['num_cpus']} CPUs at {ctx['mhz_per_cpu']} MHz; library build: {ctx['library_build_type']}\n")
    direct = ns(d["BM_scale_direct"])
    print("| dispatch (16-element op) | ns per op | overhead over a direct loop |")
    print("|---|---|---|")
    for name in ("BM_scale_dispatch", "BM_add_dispatch", "BM_gemm4_dispatch"):
        if name in d:
            print(f"| {name[3:]} | {ns(d[name]):.0f} | {ns(d[name]) - direct:.0f} ns |")
    print(f"| scale_direct (baseline) | {direct:.0f} | — |\n")

    g, _ = medians(folder / "gemm.json")
    print("| GEMM M=N=K | runtime GFLOP/s | OpenBLAS GFLOP/s | runtime / OpenBLAS |")
    print("|---|---|---|---|")
    sizes = sorted(int(k.split("/")[1]) for k in g if k.startswith("BM_gemm_openblas/"))
    for n in sizes:
        rt, ob = g[f"BM_gemm_runtime/{n}"], g[f"BM_gemm_openblas/{n}"]
        print(f"| {n} | {rt['GFLOP/s'] / 1e9:.1f} | {ob['GFLOP/s'] / 1e9:.1f} | {ns(ob) / ns(rt):.3f} |")
    for k, row in g.items():
        if "half" in k:
            print(f"| {k.replace('BM_gemm_runtime_half', 'runtime').replace('<DType::', ' ').replace('>', '')} | "
                  f"{row['GFLOP/s'] / 1e9:.1f} | — | — |")
    print()

    c, _ = medians(folder / "conv.json")
    ref = c["BM_sgemm1024_reference/real_time"]["GFLOP/s"] / 1e9
    print(f"OpenBLAS sgemm 1024×1024 in the same run: {ref:.1f} GFLOP/s\n")
    print("| conv layer, batch 64 | pass | GFLOP/s | share of sgemm-1024 |")
    print("|---|---|---|---|")
    for k, row in c.items():
        if k.startswith("BM_conv/"):
            layer, _, pass_ = row.get("label", k).rpartition(" ")
            print(f"| {layer} | {pass_} | {row['GFLOP/s'] / 1e9:.1f} | {100 * row['GFLOP/s'] / 1e9 / ref:.0f}% |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench")
