#!/usr/bin/env python3
"""Writes bitstreams/manifests/<card>.json from hls/cores/cores.h and a card description.

One source of truth: kernel names, argument names, types and order come from the top-function
declarations in cores.h; the card description below adds the platform, clock, banks and which
bank each m_axi argument is wired to. Run it after changing cores.h or a card; `--check` (the test bitstreams.manifests_current) fails
while the checked-in manifests disagree with what it would write.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every m_axi argument goes to the card's default bank: Tandem allocates a buffer before it knows
# which kernel argument it will feed, so a buffer lives in one bank; an argument wired elsewhere
# would cost a device-side staging copy on every launch (the driver does it, and counts it).
CARDS = {
    "u250": {
        "platform": "xilinx_u250_gen3x16_xdma_4_1_202210_1",
        "kernel_clock_mhz": 300,
        "memory": {
            "type": "DDR4",
            "default_bank": "DDR[0]",
            # 4 DDR4 channels of 16 GiB (UG1120); older shells tag them bank0..bank3.
            "banks": [{"name": f"DDR[{i}]", "tags": [f"DDR[{i}]", f"bank{i}"], "size_mib": 16384} for i in range(4)],
        },
    },
    "u55c": {
        "platform": "xilinx_u55c_gen3x16_xdma_3_202210_1",
        "kernel_clock_mhz": 300,
        "memory": {
            "type": "HBM",
            "default_bank": "HBM[0]",
            # 32 pseudo-channels of 512 MiB (UG1393).
            "banks": [{"name": f"HBM[{i}]", "tags": [f"HBM[{i}]"], "size_mib": 512} for i in range(32)],
        },
    },
}


def parse_cores(header: Path):
    text = re.sub(r"//[^\n]*", "", header.read_text())
    kernels = []
    for m in re.finditer(r"void\s+(tandem_\w+)\s*\(([^)]*)\)\s*;", text):
        args = []
        for i, decl in enumerate(p.strip() for p in m.group(2).split(",")):
            d = re.match(r"(.*?)(\w+)$", " ".join(decl.split()))
            ctype = d.group(1).strip().replace(" *", "*")
            args.append({"index": i, "name": d.group(2), "type": ctype})
        kernels.append((m.group(1), args))
    return kernels


def manifest(card: str):
    spec = CARDS[card]
    kernels = []
    for name, args in parse_cores(ROOT / "hls/cores/cores.h"):
        for a in args:
            if a["type"].endswith("*"):
                a["bank"] = spec["memory"]["default_bank"]
        kernels.append({"name": name, "instances": 1, "args": args})
    return {"format": "tandem-xclbin-manifest", "version": 1, "card": card, **spec, "kernels": kernels}


def main():
    check = "--check" in sys.argv
    cards = [a for a in sys.argv[1:] if a != "--check"] or sorted(CARDS)
    stale = []
    for card in cards:
        out = ROOT / "bitstreams/manifests" / f"{card}.json"
        text = json.dumps(manifest(card), indent=2) + "\n"
        if check:
            if not out.exists() or out.read_text() != text:
                stale.append(str(out))
        else:
            out.write_text(text)
            print(f"wrote {out}")
    if stale:
        sys.exit("out of date with hls/cores/cores.h (run bitstreams/tools/gen_manifest.py): " + ", ".join(stale))
    if check:
        print("manifests agree with hls/cores/cores.h:", ", ".join(cards))


if __name__ == "__main__":
    main()
