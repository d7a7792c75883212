#!/usr/bin/env python3
"""Checks a `tandem compare --out DIR` report against tools/tandem/COMPARE.md (schema tandem-compare/1).

usage: compare_schema.py DIR [--mode infer|train] [--codec] [--tolerance REL]

Every file is there; the JSON has its fields with the right types; every row, correctness block
and run carries "measured" or "modeled" and fpga-sim's are all "modeled"; correctness is computed
and finite, exactly 0 for cpu:0 against itself and below --tolerance (normwise relative, default
1e-3) elsewhere; the CSV has one line per JSON row; the SVGs parse; the HTML fetches nothing.
Standard library only.
"""
import csv
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

errors = []


def check(ok, what):
    if not ok:
        errors.append(what)
    return ok


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def num_or_null(v):
    return v is None or is_num(v)


def main():
    args = sys.argv[1:]
    out = args[0]
    mode = args[args.index("--mode") + 1] if "--mode" in args else None
    codec = "--codec" in args
    tolerance = float(args[args.index("--tolerance") + 1]) if "--tolerance" in args else 1e-3
    files = ["compare.json", "compare.csv", "compare.html", "throughput.svg"]
    for f in files:
        check(os.path.isfile(os.path.join(out, f)), f"missing {f}")
    with open(os.path.join(out, "compare.json")) as f:
        j = json.load(f)

    check(j.get("schema") == "tandem-compare/1", "schema is not tandem-compare/1")
    check(list(j)[0] == "schema", '"schema" is not the first field')
    for key, typ in [("created", str), ("model", dict), ("mode", str), ("batches", list), ("repeats", int),
                     ("warmup", int), ("seed", int), ("reference_device", str), ("energy", dict), ("notes", list),
                     ("devices", list), ("runs", list), ("tandem_version", str)]:
        check(isinstance(j.get(key), typ), f"top-level {key} missing or not {typ.__name__}")
    check(j["mode"] in ("infer", "train"), "mode")
    if mode:
        check(j["mode"] == mode, f"mode is {j['mode']}, expected {mode}")
    check(all(isinstance(b, int) and b >= 1 for b in j["batches"]), "batches")
    check(j["energy"].get("available") is False and isinstance(j["energy"].get("reason"), str)
          and j["energy"]["reason"], "energy must say unavailable, with a reason")
    check(isinstance(j["model"].get("layers"), list) and j["model"]["layers"], "model.layers")
    check(j["pruned"] is None or (isinstance(j["pruned"], dict) and j["pruned"].get("kernels") == "dense"
                                  and is_num(j["pruned"].get("sparsity"))), "pruned")
    check(j["compress"] is None or isinstance(j["compress"], dict), "compress")

    labels = {}
    for d in j["devices"]:
        for key in ("id", "name", "driver", "kind", "label"):
            check(isinstance(d.get(key), str), f"device {key}")
        check(d["label"] in ("measured", "modeled"), f"device {d.get('id')} label {d.get('label')}")
        labels[d["id"]] = d["label"]
        roof = d.get("roof", {})
        check(num_or_null(roof.get("peak_flops")) and num_or_null(roof.get("bandwidth_bytes_per_s")), "roof figures")
        for key in ("peak_label", "bandwidth_label"):
            check(roof.get(key) in ("nominal", "measured", "modeled", "unknown"), f"roof {key}")
        if d["kind"] == "fpga-sim":
            check(d["label"] == "modeled", "fpga-sim device not modeled")
            check(roof.get("peak_label") == "modeled" and roof.get("bandwidth_label") == "modeled",
                  "fpga-sim roof not modeled")

    check(len(j["runs"]) == len(j["devices"]) * len(j["batches"]), "one run per device and batch")
    rows_total = 0
    row_fields = {"kind": str, "name": str, "status": str, "reason": str, "label": str}
    figure_fields = ["throughput_samples_per_s", "flops", "bytes", "gflops_per_s", "gbytes_per_s",
                     "intensity_flops_per_byte", "roof_gflops_per_s", "roofline_share", "energy_j_per_sample"]
    for run in j["runs"]:
        dev = run.get("device")
        check(dev in labels, f"run device {dev} not among devices")
        want = labels.get(dev)
        check(run.get("label") == want, f"{dev}: run label")
        check(isinstance(run.get("batch"), int) and isinstance(run.get("repeats"), int), f"{dev}: batch/repeats")
        c = run.get("correctness", {})
        check(c.get("label") == want, f"{dev}: correctness label")
        check(c.get("reference") == "cpu:0", f"{dev}: reference")
        blocks = [("logits", c.get("logits"))]
        if j["mode"] == "train":
            blocks.append(("gradients", c.get("gradients")))
        else:
            check(c.get("gradients") is None, f"{dev}: gradients in infer mode")
        for name, e in blocks:
            if not check(isinstance(e, dict), f"{dev} batch {run['batch']}: {name} correctness not computed"):
                continue
            check(e.get("finite") is True and is_num(e.get("max_abs_error")) and is_num(e.get("max_rel_error")),
                  f"{dev}: {name} error not finite")
            if dev == "cpu:0":
                check(e.get("max_abs_error") == 0 and e.get("max_rel_error") == 0, f"cpu:0 vs cpu:0 {name} not 0")
            else:
                check(e.get("max_rel_error", 1) < tolerance,
                      f"{dev} batch {run['batch']}: {name} relative error {e.get('max_rel_error')} (worst: {e.get('worst')})")
        kinds = [r.get("kind") for r in run.get("rows", [])]
        check(kinds.count("model") == 1, f"{dev}: one model row")
        check(kinds.count("layer") == len(j["model"]["layers"]), f"{dev}: one row per layer")
        if j["mode"] == "train":
            check(kinds.count("optimizer") == 1, f"{dev}: optimizer row")
        if codec:
            check(kinds.count("codec") == 1, f"{dev}: codec row")
            check(isinstance(j["compress"], dict) and isinstance(j["compress"].get("codec"), str), "compress block")
            for r in run["rows"]:
                if r.get("kind") == "codec" and r.get("status") == "ok":
                    check(is_num(r.get("message_bytes")) and is_num(r.get("compression_ratio")), f"{dev}: codec bytes")
        for r in run["rows"]:
            rows_total += 1
            for key, typ in row_fields.items():
                check(isinstance(r.get(key), typ), f"{dev} row {r.get('name')}: {key}")
            check(r.get("label") == want, f"{dev} row {r.get('name')}: label {r.get('label')} (device is {want})")
            check(r.get("status") in ("ok", "unsupported", "failed"), f"{dev} row status {r.get('status')}")
            for key in figure_fields:
                check(key in r and num_or_null(r[key]), f"{dev} row {r.get('name')}: {key}")
            check(r.get("energy_j_per_sample") is None, "energy must be null (no power reading)")
            if r.get("status") == "ok":
                lat = r.get("latency_s") or {}
                check(all(is_num(lat.get(k)) for k in ("median", "min", "max", "q1", "q3")), f"{dev} row latency")
                check(lat.get("min", 1) <= lat.get("median", 0) <= lat.get("max", -1), f"{dev} row latency order")
                check(is_num(r.get("throughput_samples_per_s")), f"{dev} row {r['name']}: throughput")
            else:
                check(r.get("latency_s") is None and r.get("reason"), f"{dev} row {r.get('name')}: {r.get('status')} "
                      "without a reason, or with figures")

    with open(os.path.join(out, "compare.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == rows_total, f"CSV has {len(rows)} rows, the JSON {rows_total}")
    for r in rows:
        check(r["label"] in ("measured", "modeled"), "CSV label")
        check(r["label"] == labels.get(r["device"]), f"CSV label of {r['device']}")
        check(r["energy_j_per_sample"] == "", "CSV energy must be blank")

    svgs = ["throughput.svg"] + [f"roofline-{d['id'].replace(':', '-')}.svg" for d in j["devices"]]
    for s in svgs:
        path = os.path.join(out, s)
        if check(os.path.isfile(path), f"missing {s}"):
            root = ET.parse(path).getroot()
            check(root.tag.endswith("svg"), f"{s} is not SVG")
    with open(os.path.join(out, "throughput.svg")) as f:
        tp = f.read()
    if "modeled" in labels.values():
        check("(modeled)" in tp and "url(#" in tp, "throughput chart does not mark the modeled series")
    with open(os.path.join(out, "compare.html")) as f:
        html = f.read()
    check(html.count("<svg") == 1 + len(j["devices"]), "HTML does not inline every chart")
    for bad in ("<script", "<link", "src=", "@import", "url(http"):
        check(bad not in html, f"HTML refers to an external resource ({bad})")

    if errors:
        for e in errors[:40]:
            print("FAIL:", e)
        sys.exit(1)
    print(f"compare report OK: {len(j['runs'])} runs, {rows_total} rows, {len(svgs)} SVGs")


main()
