#!/usr/bin/env python3
"""Writes the v++ link configuration (connectivity, instance counts, kernel clock) for a card
from its manifest, so the bitstream is wired exactly as the driver will check it is.

    gen_cfg.py manifests/u250.json            # the .cfg on stdout
    gen_cfg.py --kernels manifests/u250.json  # the kernel names, one line (for the Makefile)
    gen_cfg.py --field platform manifests/u250.json
"""
import json
import sys


def load(path):
    with open(path) as f:
        m = json.load(f)
    banks = {b["name"] for b in m["memory"]["banks"]}
    for k in m["kernels"]:
        for a in k["args"]:
            if a["type"].endswith("*") and a.get("bank") not in banks:
                sys.exit(f"{path}: kernel {k['name']} argument {a['index']} ('{a['name']}') has no known bank")
    return m


def cfg(m, path):
    lines = [f"# Generated from {path} by bitstreams/tools/gen_cfg.py: edit the manifest, not this file.",
             f"# {m['card']}: {m['platform']}",
             f"kernel_frequency={m['kernel_clock_mhz']}",
             "",
             "[connectivity]"]
    for k in m["kernels"]:
        cus = [f"{k['name']}_{i}" for i in range(1, k["instances"] + 1)]
        lines.append(f"nk={k['name']}:{k['instances']}:{'.'.join(cus)}")
        for cu in cus:
            for a in k["args"]:
                if a["type"].endswith("*"):
                    lines.append(f"sp={cu}.{a['name']}:{a['bank']}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "--kernels":
        print(" ".join(k["name"] for k in load(argv[2])["kernels"]))
    elif len(argv) == 4 and argv[1] == "--field":
        print(load(argv[3])[argv[2]])
    elif len(argv) == 2:
        sys.stdout.write(cfg(load(argv[1]), argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
