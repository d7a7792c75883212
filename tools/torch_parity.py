#!/usr/bin/python3
"""PyTorch parity fixtures for Tandem's graph models (Debian python3-torch, CPU).

Reads a model's graph description (`tandem model --model NAME --json`), builds the same network
in PyTorch with torch.nn.functional, from initial weights drawn here, trains it a few steps (the
CNNs: SGD with momentum, no weight decay; vit and encoder: AdamW with weight decay on the
projection weights) on fixed random batches (the encoder: random token ids with BERT-style
labels, 15% of the positions scored and the rest ignore_index -100), and writes a fixture that
tests/nn/test_parity.cpp replays through Tandem on every device. The reference is PyTorch in
float64 (the exact answer, near enough); PyTorch's own float32 run gives, per value, the error
that float32 arithmetic makes on this model, which is what a float32 runtime is held to (BN over
a small batch makes some gradients ill-conditioned: float32 PyTorch is 1e-3 off on them).

  NAME.json  the model, the recipe, the losses per step (float64) and float32's error on each,
             tensor names/shapes/offsets and float32's scaled error on each
  NAME.bin   float32 little-endian: inputs, labels (as floats), initial weights and buffers,
             the selected gradients of step 0, the running statistics after the last step

The transformer block's functional form is checked against PyTorch's own block first:
nn.TransformerEncoderLayer(norm_first=True, activation="gelu", dropout=0) given block 0's
weights must give block 0's output to float64 rounding, or no fixture is written.

usage: torch_parity.py TANDEM_BINARY OUTDIR [MODEL ...]   (default: resnet20 mobilenet vit encoder)
A MODEL may be NAME=SPEC: the fixture NAME of the model SPEC (encoder=encoder:vocab=50,...).
"""
import json
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

BATCH, STEPS, LR, MOMENTUM, SEED = 8, 3, 0.05, 0.9, 1234
IGNORE = -100  # Tandem's ignore_label, PyTorch's ignore_index default
# The encoder fixture's shape: small enough for a fixture, every part of BERT-mini's kind.
ENCODER = "encoder=encoder:vocab=50,seq=12,width=32,layers=2,heads=4,mlp=64,positions=16"
# The transformers' recipe: AdamW, decoupled weight decay on the weights pruning sees.
ADAMW = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.05}


def xavier(rng, shape):
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def small_normal(rng, shape):  # N(0, 0.02²) within ±2σ
    v = rng.standard_normal(shape) * 0.02
    return np.clip(v, -0.04, 0.04).astype(np.float32)


def init_tensors(spec, rng):
    """Parameters and buffers by Tandem's names and in its order (ModelSpec::params, buffers)."""
    params, buffers, decayed = {}, {}, set()
    shapes = {"input": list(spec["input"])}
    order = [n["name"] for n in spec["nodes"]]
    for node in spec["nodes"]:
        name, op = node["name"], node["op"]
        src = node["inputs"]
        c_in = shapes[src[0]]
        if op == "conv2d":
            k, g = node["kernel"], node.get("groups", 1)
            w = (node["out_channels"], c_in[0] // g, k, k)
            bound = np.sqrt(6.0 / (w[1] * k * k))
            params[name + ".weight"] = rng.uniform(-bound, bound, w).astype(np.float32)
            decayed.add(name + ".weight")
            if node.get("bias", True):
                params[name + ".bias"] = np.zeros(w[0], np.float32)
            s, p, d = node.get("stride", 1), node.get("pad", 0), node.get("dilation", 1)
            out = lambda n: (n + 2 * p - d * (k - 1) - 1) // s + 1
            shapes[name] = [w[0], out(c_in[1]), out(c_in[2])]
        elif op == "linear":
            per_token = node.get("flatten", True) is False
            fan_in = c_in[-1] if per_token else int(np.prod(c_in))
            bound = np.sqrt(6.0 / fan_in)
            params[name + ".weight"] = rng.uniform(-bound, bound, (node["out"], fan_in)).astype(np.float32)
            decayed.add(name + ".weight")
            if node.get("bias", True):
                params[name + ".bias"] = np.zeros(node["out"], np.float32)
            shapes[name] = c_in[:-1] + [node["out"]] if per_token else [node["out"]]
        elif op == "tokens":
            shapes[name] = [c_in[1] * c_in[2], c_in[0]]
        elif op == "class_token":
            params[name + ".token"] = small_normal(rng, (1, 1, c_in[1]))
            shapes[name] = [c_in[0] + 1, c_in[1]]
        elif op == "position_embedding":
            params[name + ".weight"] = small_normal(rng, (1, node.get("positions", c_in[0]), c_in[1]))
            shapes[name] = c_in
        elif op == "embedding":
            params[name + ".weight"] = small_normal(rng, (node["vocab"], node["out"]))
            shapes[name] = c_in + [node["out"]]
        elif op == "layernorm":
            d = c_in[-1]  # not the identity: gamma and beta drawn, so their gradients are checked
            params[name + ".weight"] = rng.uniform(0.8, 1.2, d).astype(np.float32)
            params[name + ".bias"] = rng.uniform(-0.1, 0.1, d).astype(np.float32)
            shapes[name] = c_in
        elif op == "attention":
            d = c_in[1]
            params[name + ".in_proj_weight"] = xavier(rng, (3 * d, d))
            params[name + ".in_proj_bias"] = rng.uniform(-0.1, 0.1, 3 * d).astype(np.float32)
            params[name + ".out_proj.weight"] = xavier(rng, (d, d))
            params[name + ".out_proj.bias"] = rng.uniform(-0.1, 0.1, d).astype(np.float32)
            decayed.update({name + ".in_proj_weight", name + ".out_proj.weight"})
            shapes[name] = c_in
        elif op == "slice":
            shape = list(c_in)
            shape[node["axis"]] = node["length"]
            shapes[name] = shape
        elif op in ("gelu", "tanh", "sigmoid"):
            shapes[name] = c_in
        elif op == "batchnorm":
            c = c_in[0]
            params[name + ".weight"] = np.ones(c, np.float32)
            params[name + ".bias"] = np.zeros(c, np.float32)
            buffers[name + ".running_mean"] = np.zeros(c, np.float32)
            buffers[name + ".running_var"] = np.ones(c, np.float32)
            shapes[name] = c_in
        elif op in ("maxpool2d", "avgpool2d"):
            k, s = node["kernel"], node["stride"]
            shapes[name] = [c_in[0], (c_in[1] - k) // s + 1, (c_in[2] - k) // s + 1]
        elif op == "global_avgpool":
            shapes[name] = [c_in[0]]
        elif op == "flatten":
            shapes[name] = [int(np.prod(c_in))]
        elif op in ("relu", "add"):
            shapes[name] = c_in
        else:
            raise SystemExit(f"torch_parity: node {name}: op {op} is not supported here")
    return params, buffers, order, decayed


def forward(spec, x, P, B):
    vals = {"input": x}
    run_nodes(spec["nodes"], vals, P, B)
    return vals[spec["nodes"][-1]["name"]]


def run_nodes(nodes, vals, P, B):
    for node in nodes:
        name, op, src = node["name"], node["op"], node["inputs"]
        a = vals[src[0]]
        if op == "conv2d":
            k = node["kernel"]
            y = F.conv2d(a, P[name + ".weight"], P.get(name + ".bias"), stride=node.get("stride", 1),
                         padding=node.get("pad", 0), dilation=node.get("dilation", 1), groups=node.get("groups", 1))
        elif op == "linear":
            y = F.linear(a if node.get("flatten", True) is False else a.flatten(1), P[name + ".weight"],
                         P.get(name + ".bias"))
        elif op == "batchnorm":
            y = F.batch_norm(a, B[name + ".running_mean"], B[name + ".running_var"], P[name + ".weight"],
                             P[name + ".bias"], training=True, momentum=node.get("momentum", 0.1),
                             eps=node.get("eps", 1e-5))
        elif op == "relu":
            y = F.relu(a)
        elif op == "maxpool2d":
            y = F.max_pool2d(a, node["kernel"], node["stride"])
        elif op == "avgpool2d":
            y = F.avg_pool2d(a, node["kernel"], node["stride"])
        elif op == "global_avgpool":
            y = a.mean(dim=(2, 3))
        elif op == "flatten":
            y = a.flatten(1)
        elif op == "add":
            y = a + vals[src[1]]
        elif op == "tokens":
            y = a.flatten(2).transpose(1, 2)
        elif op == "class_token":
            y = torch.cat([P[name + ".token"].expand(a.shape[0], -1, -1), a], dim=1)
        elif op == "position_embedding":
            y = a + P[name + ".weight"][:, :a.shape[1]]
        elif op == "embedding":
            y = F.embedding(a, P[name + ".weight"])
        elif op == "layernorm":
            y = F.layer_norm(a, a.shape[-1:], P[name + ".weight"], P[name + ".bias"], eps=node.get("eps", 1e-5))
        elif op == "attention":
            t = a.transpose(0, 1)  # nn.MultiheadAttention's [T, N, D]
            y = F.multi_head_attention_forward(
                t, t, t, a.shape[-1], node["heads"], P[name + ".in_proj_weight"], P[name + ".in_proj_bias"], None,
                None, False, 0.0, P[name + ".out_proj.weight"], P[name + ".out_proj.bias"], training=True,
                need_weights=False)[0].transpose(0, 1)
        elif op == "gelu":
            y = F.gelu(a, approximate=node.get("approximate", "none"))
        elif op == "tanh":
            y = torch.tanh(a)
        elif op == "sigmoid":
            y = torch.sigmoid(a)
        elif op == "slice":
            y = a.narrow(node["axis"] + 1, node["start"], node["length"])
        vals[name] = y


def check_block(spec, P, rng):
    """Block 0's nodes, run functionally, against nn.TransformerEncoderLayer with its weights."""
    nodes = [n for n in spec["nodes"] if n["name"].startswith("block0.")]
    if not nodes:
        return None
    att = next(n for n in nodes if n["op"] == "attention")
    d, heads = P[att["name"] + ".in_proj_weight"].shape[1], att["heads"]
    mlp = P["block0.linear1.weight"].shape[0]
    layer = torch.nn.TransformerEncoderLayer(d, heads, mlp, dropout=0.0, activation="gelu", batch_first=True,
                                             norm_first=True).double()
    with torch.no_grad():
        for ours, theirs in [("norm1", "norm1"), ("norm2", "norm2"), ("linear1", "linear1"), ("linear2", "linear2")]:
            getattr(layer, theirs).weight.copy_(P[f"block0.{ours}.weight"])
            getattr(layer, theirs).bias.copy_(P[f"block0.{ours}.bias"])
        layer.self_attn.in_proj_weight.copy_(P["block0.attn.in_proj_weight"])
        layer.self_attn.in_proj_bias.copy_(P["block0.attn.in_proj_bias"])
        layer.self_attn.out_proj.weight.copy_(P["block0.attn.out_proj.weight"])
        layer.self_attn.out_proj.bias.copy_(P["block0.attn.out_proj.bias"])
    x = torch.from_numpy(rng.standard_normal((2, 7, d)))
    vals = {nodes[0]["inputs"][0]: x}
    with torch.no_grad():
        run_nodes(nodes, vals, P, {})
        diff = float((vals[nodes[-1]["name"]] - layer(x)).abs().max())
    if not diff < 1e-10:
        raise SystemExit(f"torch_parity: block 0 differs from nn.TransformerEncoderLayer by {diff}")
    return diff


def fixture(tandem, name_model, outdir):
    name, _, model = name_model.partition("=")
    model = model or name
    spec = json.loads(subprocess.check_output([tandem, "model", "--model", model, "--json"]))
    rng = np.random.RandomState(SEED)
    init_p, init_b, _, decayed = init_tensors(spec, rng)
    transformer = any(n["op"] == "attention" for n in spec["nodes"])
    block_diff = check_block(spec, {k: torch.tensor(v, dtype=torch.float64) for k, v in init_p.items()}, rng)
    tokens = "vocab" in spec
    if tokens:  # ids, and per token a label where chosen (at least one per sequence), IGNORE elsewhere
        t = spec["input"][0]
        xs = rng.randint(0, spec["vocab"], (STEPS, BATCH, t))
        ys = np.where(rng.uniform(size=(STEPS, BATCH, t)) < 0.15, rng.randint(0, spec["classes"], (STEPS, BATCH, t)), IGNORE)
        ys[:, :, 0] = rng.randint(0, spec["classes"], (STEPS, BATCH))
    else:
        c, h, w = spec["input"]
        xs = rng.standard_normal((STEPS, BATCH, c, h, w)).astype(np.float32)
        ys = rng.randint(0, spec["classes"], (STEPS, BATCH))
    names = list(init_p)
    chosen = sorted({names[0], names[1], names[len(names) // 2], names[-2], names[-1]}, key=names.index)

    def train(dtype):
        P = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in init_p.items()}
        B = {k: torch.tensor(v, dtype=dtype) for k, v in init_b.items()}
        if transformer:
            groups = [{"params": [P[k] for k in P if k in decayed], "weight_decay": ADAMW["weight_decay"]},
                      {"params": [P[k] for k in P if k not in decayed], "weight_decay": 0.0}]
            opt = torch.optim.AdamW(groups, lr=ADAMW["lr"], betas=ADAMW["betas"], eps=ADAMW["eps"])
        else:
            opt = torch.optim.SGD(list(P.values()), lr=LR, momentum=MOMENTUM, weight_decay=0.0)
        losses, grads = [], {}
        for step in range(STEPS):
            opt.zero_grad()
            x = torch.from_numpy(xs[step]) if tokens else torch.from_numpy(xs[step]).to(dtype)
            logits = forward(spec, x, P, B)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(ys[step]).reshape(-1),
                                   ignore_index=IGNORE)
            loss.backward()
            losses.append(float(loss))
            if step == 0:
                grads = {k: P[k].grad.detach().double().numpy().copy() for k in chosen}
            opt.step()
        after = {k: P[k].detach().double().numpy() for k in chosen}
        return losses, grads, {k: v.double().numpy() for k, v in B.items()}, after

    losses, grads, buffers_after, params_after = train(torch.float64)
    losses32, grads32, buffers32, params32 = train(torch.float32)

    def err(a, b):  # float32's error, scaled by the tensor's largest magnitude
        return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))

    blobs, entries = [], []

    def put(role, name, a, f32_error=0.0):
        a = np.ascontiguousarray(a, np.float32)
        entries.append({"role": role, "name": name, "shape": list(a.shape), "offset": sum(b.size for b in blobs),
                        "f32_error": f32_error})
        blobs.append(a.ravel())

    put("input", "x", xs)
    put("labels", "y", ys.astype(np.float32))
    for k, v in init_p.items():
        put("param", k, v)
    for k, v in init_b.items():
        put("buffer", k, v)
    for k, v in grads.items():
        put("grad0", k, v, err(grads32[k], v))
    for k, v in buffers_after.items():
        put("buffer_after", k, v, err(buffers32[k], v))
    for k, v in params_after.items():
        put("param_after", k, v, err(params32[k], v))
    recipe = ({"optimizer": "adamw", "lr": ADAMW["lr"], "beta1": ADAMW["betas"][0], "beta2": ADAMW["betas"][1],
               "eps": ADAMW["eps"], "weight_decay": ADAMW["weight_decay"], "momentum": 0.0} if transformer else
              {"optimizer": "sgd", "lr": LR, "momentum": MOMENTUM, "weight_decay": 0.0})
    if block_diff is not None:
        recipe["block_reference"] = {"module": "nn.TransformerEncoderLayer(norm_first=True)", "max_abs_diff": block_diff}
    meta = {"model": spec, "batch": BATCH, "steps": STEPS, **recipe,
            "losses": losses, "losses_f32_error": [abs(a - b) for a, b in zip(losses32, losses)],
            "torch": torch.__version__, "threads": torch.get_num_threads(), "tensors": entries}
    with open(f"{outdir}/{name}.bin", "wb") as f:
        f.write(np.concatenate(blobs).astype("<f4").tobytes())
    with open(f"{outdir}/{name}.json", "w") as f:
        json.dump(meta, f)
    worst = max(e["f32_error"] for e in entries)
    print(f"{name}: losses {['%.6f' % l for l in losses]}, float32's worst scaled error {worst:.2e}, "
          f"{sum(b.size for b in blobs) * 4} bytes")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    for m in sys.argv[3:] or ["resnet20", "mobilenet", "vit", ENCODER]:
        fixture(sys.argv[1], m, sys.argv[2])
