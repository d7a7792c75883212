// Runs the comparison: per device and batch size, a correctness pass against the CPU reference,
// a traced pass (each op's OpCost attributed to its layer, the optimizer or the codec), warm-up,
// then timed passes: the whole step unsynchronized inside, and the same step with every layer
// synchronized and timed on its own (nn::Network::time_layers).
#include <algorithm>
#include <random>

#include "tandem/clock.h"
#include "tandem/compare/compare.h"
#include "tandem/error.h"
#include "tandem/nn/network.h"
#include "tandem/nn/optimizer.h"
#include "tandem/ops.h"
#include "tandem/stream.h"
#include "tandem/table.h"

namespace tandem::cli::compare {
namespace {


// Adds each op's cost to the slot current when it was dispatched: Network::tag_layers writes the
// layer's index; the optimizer and the codec are given their own slots after the layers.
class CostTracer : public OpObserver {
 public:
  explicit CostTracer(size_t slots) : cost(slots) {}
  void before(Stream&, const OpCall&) override {}
  void after(Stream&, const OpCall&, const OpCost& c) override {
    cost.at(slot).flops += c.flops;
    cost.at(slot).bytes += c.bytes;
  }
  size_t slot = 0;
  std::vector<OpCost> cost;
};

// A network with its data, optimizer and codecs: one training (or inference) step at a time.
struct Bench {
  const Config& c;
  nn::Network net;
  nn::Sgd sgd{nn::SgdConfig{}};  // the defaults of tandem train
  std::vector<nn::Param*> params;
  std::vector<const Tensor*> grads;
  std::vector<compression::GradientCodec> codecs;
  Tensor input, labels;
  std::vector<Device> used;  // distinct devices of the placement
  uint32_t step_no = 0;
  double message_bytes = 0;

  Bench(const Config& cfg, const std::vector<Device>& placement, const nn::ExampleBatch& d)
      : c(cfg), net(cfg.spec, placement) {
    net.init(cfg.seed);
    if (cfg.prune.method != nn::PruneMethod::none) nn::prune(net, cfg.prune.method, cfg.prune.sparsity);
    params = net.params();
    for (nn::Param* p : params) grads.push_back(&p->grad);
    input = d.input(net.input_device()), labels = d.label_tensor(net.output_device());
    for (const Device& dev : placement)
      if (std::find(used.begin(), used.end(), dev) == used.end()) used.push_back(dev);
  }
  void sync() {
    for (const Device& d : used) net.stream(d).synchronize();
  }
  const Tensor* out = nullptr;  // the last forward pass's logits
  void forward() { out = &net.forward(input); }
  void backward() { net.backward(labels); }
  // compress → wire message → decompress of every gradient, as a rank would send it (trainer.cpp does the same).
  void codec() {
    if (codecs.empty())
      for (size_t i = 0; i < params.size(); ++i) codecs.emplace_back(*c.codec);
    uint64_t offset = 0;
    message_bytes = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& g = params[i]->grad;
      Stream& s = net.stream(g.device());
      const std::span<const uint8_t> msg = codecs[i].compress(s, g, {c.seed, step_no, 0, offset});
      message_bytes += static_cast<double>(msg.size());
      codecs[i].decompress(s, msg, g);
      offset += static_cast<uint64_t>(g.numel());
    }
    ++step_no;
  }
  void update() { sgd.step(net, params, grads, 0.01f); }
};

// Seconds `f` keeps device d busy: its modeled device time on modeled devices, else host wall time,
// the streams drained before and after so that all of its work is inside.
template <class F>
double timed(Bench& b, const Device& d, F&& f) {
  b.sync();
  const DeviceTimer timer(d);
  f();
  b.sync();
  return timer.seconds();
}

// Folds one tensor's differences into e: max |x − ref| (a non-finite x counts as infinite, so a
// NaN never reads as agreement), and the largest |ref| seen, for the normwise relative error.
void compare_into(ErrorStat& e, const std::vector<float>& x, const std::vector<float>& ref, const std::string& what,
                  double* ref_max) {
  double worst = x.size() == ref.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < x.size() && i < ref.size(); ++i) {
    const double d = std::isfinite(x[i]) ? std::fabs(static_cast<double>(x[i]) - ref[i]) : INFINITY;
    worst = std::max(worst, d);
    *ref_max = std::max(*ref_max, static_cast<double>(std::fabs(ref[i])));
  }
  if (!e.computed || worst > e.max_abs) e.max_abs = worst, e.worst = what;
  e.computed = true;
}

struct Reference {
  std::vector<float> logits;
  std::vector<std::vector<float>> grads;
};

Reference reference(const Config& c, const nn::ExampleBatch& d) {
  Bench b(c, {cpu_device()}, d);
  Reference r;
  b.forward();
  b.sync();
  r.logits = b.out->to_f32();
  if (c.mode == Mode::train) {
    b.backward();
    b.sync();
    for (const nn::Param* p : b.params) r.grads.push_back(p->grad.to_f32());
  }
  return r;
}

// The rows of one run before anything is measured: a layer `d` lacks an op for is unsupported here
// (it is not moved elsewhere and reported as if it ran on d), and so then are the model and the step's rows.
std::vector<Row> plan_rows(const Config& c, const Device& d, std::vector<Device>* placement) {
  const nn::ModelSpec& spec = c.spec;
  std::vector<Row> rows;
  std::string lacking;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    Row r;
    r.name = spec.layer_name(i);
    const OpDesc* lacks = nn::missing_op(spec, i, d);
    const std::string op = lacks ? lacks->name : "";
    if (!op.empty()) {
      r.status = "unsupported";
      r.reason = d.id() + " has no kernel for " + op + ", which this layer needs; not run on " + d.id();
      lacking += (lacking.empty() ? "" : ", ") + r.name + " (" + op + ")";
    } else if (i + 1 == spec.layers.size() && c.mode == Mode::train) {
      r.reason = "includes the loss (softmax cross-entropy, forward and backward)";
    }
    placement->push_back(op.empty() ? d : cpu_device());
    rows.push_back(r);
  }
  const auto add = [&](RowKind k, const std::string& name) {
    Row r;
    r.kind = k, r.name = name;
    if (!lacking.empty()) r.status = "unsupported", r.reason = d.id() + " cannot hold every layer: " + lacking;
    rows.push_back(r);
  };
  add(RowKind::model, "model");
  if (c.mode == Mode::train) add(RowKind::optimizer, "optimizer (SGD)");
  if (c.mode == Mode::train && c.codec) add(RowKind::codec, "codec " + compression::codec_string(*c.codec));
  return rows;
}

Row* find_row(Run& run, RowKind k) {
  for (Row& r : run.rows)
    if (r.kind == k) return &r;
  return nullptr;
}

Run measure(const Config& c, const DeviceEntry& de, size_t di, int64_t batch, const nn::ExampleBatch& data, const Reference& ref) {
  const Device& d = de.device;
  const size_t L = c.spec.layers.size();
  const bool train = c.mode == Mode::train;
  Run run;
  run.device = di, run.batch = batch;
  run.repeats = de.modeled ? 1 : c.repeats;  // a performance model is deterministic
  run.warmup = de.modeled ? 0 : c.warmup;
  const auto say = [&](const std::string& s) {
    if (c.progress) c.progress(d.id() + " batch " + std::to_string(batch) + ": " + s);
  };
  std::vector<Device> placement;
  run.rows = plan_rows(c, d, &placement);
  if (std::none_of(placement.begin(), placement.end(), [&](const Device& x) { return x == d; })) return run;
  std::string elsewhere;  // layers d cannot hold run on the CPU, so that the others can be measured on d
  for (size_t i = 0; i < L; ++i)
    if (!(placement[i] == d)) elsewhere += (elsewhere.empty() ? "" : ", ") + run.rows[i].name;
  if (!elsewhere.empty())
    run.correctness.note = "layers " + elsewhere + " ran on cpu:0 (" + d.id() + " lacks their ops)";

  Bench b(c, placement, data);
  say("correctness against cpu:0");
  b.forward();
  b.sync();
  double ref_max = 0;
  compare_into(run.correctness.logits, b.out->to_f32(), ref.logits, "logits", &ref_max);
  ErrorStat& el = run.correctness.logits;
  el.max_rel = ref_max > 0 ? el.max_abs / ref_max : el.max_abs;
  Row* codec_row = find_row(run, RowKind::codec);
  if (train) {
    b.backward();
    b.sync();
    double grad_max = 0;
    for (size_t i = 0; i < b.params.size(); ++i)
      compare_into(run.correctness.gradients, b.params[i]->grad.to_f32(), ref.grads[i], b.params[i]->name, &grad_max);
    ErrorStat& eg = run.correctness.gradients;
    eg.max_rel = grad_max > 0 ? eg.max_abs / grad_max : eg.max_abs;
    if (codec_row && codec_row->ok()) try {
        b.codec();
        b.sync();
      } catch (const Error& e) {  // an op of the codec missing on d: said, and the step runs without it
        codec_row->status = "unsupported";
        codec_row->reason = e.what();
        find_row(run, RowKind::model)->reason = "the step runs without the codec: " + std::string(e.what());
      }
    b.sgd.velocity(b.params);  // allocated here, not inside a timed step
    b.update();
    b.sync();
  }
  const bool with_codec = codec_row && codec_row->ok();
  const auto step = [&] {
    b.forward();
    if (!train) return;
    b.backward();
    if (with_codec) b.codec();
    b.update();
  };

  CostTracer tracer(L + 2);  // slots: the layers, then the codec (L) and the optimizer (L + 1)
  {
    b.net.tag_layers(&tracer.slot);
    const ScopedOpObserver watch(tracer);
    b.forward();
    if (train) {
      b.backward();
      tracer.slot = L;
      if (with_codec) b.codec();
      tracer.slot = L + 1;
      b.update();
    }
    b.net.tag_layers(nullptr);
  }
  b.sync();
  if (run.warmup > 0) say("warm-up, " + std::to_string(run.warmup) + " step(s)");
  for (int w = 0; w < run.warmup; ++w) step();
  say("timing the whole model, " + std::to_string(run.repeats) + " step(s)");
  std::vector<double> model_t, opt_t, codec_t;
  std::vector<std::vector<double>> layer_t(L);
  for (int r = 0; r < run.repeats; ++r) model_t.push_back(timed(b, d, step));
  say("timing each layer, " + std::to_string(run.repeats) + " step(s)");
  for (int r = 0; r < run.repeats; ++r) {
    b.sync();
    b.net.time_layers(true);  // each layer synchronized and timed (modeled time on modeled devices)
    b.forward();
    if (train) b.backward();
    for (size_t i = 0; i < L; ++i) layer_t[i].push_back(b.net.layer_seconds()[i]);
    b.net.time_layers(false);
    if (with_codec) codec_t.push_back(timed(b, d, [&] { b.codec(); }));
    if (train) opt_t.push_back(timed(b, d, [&] { b.update(); }));
  }
  for (size_t i = 0; i < L; ++i)  // one progress line per layer stage
    if (placement[i] == d)
      say("layer " + run.rows[i].name + ": " + fmt("%.3f ms", summarize(layer_t[i]).median * 1e3) + " " +
          (de.modeled ? "modeled" : "measured"));
  OpCost total;
  for (const OpCost& x : tracer.cost) total.flops += x.flops, total.bytes += x.bytes;
  for (Row& r : run.rows) {
    if (!r.ok()) continue;
    size_t slot = 0;
    switch (r.kind) {
      case RowKind::layer:
        slot = static_cast<size_t>(&r - run.rows.data());
        r.latency = summarize(layer_t[slot]);
        break;
      case RowKind::model:
        r.latency = summarize(model_t);
        r.flops = total.flops, r.bytes = total.bytes;
        continue;
      case RowKind::codec:
        slot = L;
        r.latency = summarize(codec_t);
        r.message_bytes = b.message_bytes;
        break;
      case RowKind::optimizer:
        slot = L + 1;
        r.latency = summarize(opt_t);
        break;
    }
    r.flops = tracer.cost[slot].flops, r.bytes = tracer.cost[slot].bytes;
  }
  return run;
}

}  // namespace

Result run(const Config& c) {
  Result res;
  res.created = utc_now();
  for (const Device& d : c.devices)
    res.devices.push_back({d, d.id(), d.props().name, d.props().driver, std::string(device_kind_name(d.kind())),
                           d.props().modeled, roof_of(d, c.progress)});
  {
    nn::Network net(c.spec, {cpu_device()});
    net.init(c.seed);
    if (c.prune.method != nn::PruneMethod::none) nn::prune(net, c.prune.method, c.prune.sparsity);
    res.sparsity = nn::overall_sparsity(net.params());
    for (const nn::Param* p : net.params()) res.parameters += p->value.numel();
  }
  std::vector<nn::ExampleBatch> data;
  std::vector<Reference> refs;
  for (int64_t batch : c.batches) {
    if (c.progress) c.progress("cpu:0 batch " + std::to_string(batch) + ": reference outputs");
    data.push_back(nn::example_batch(c.spec, batch, c.seed));  // the same inputs for the reference and every device
    refs.push_back(reference(c, data.back()));
  }
  for (size_t di = 0; di < res.devices.size(); ++di)
    for (size_t bi = 0; bi < c.batches.size(); ++bi) {
      try {
        res.runs.push_back(measure(c, res.devices[di], di, c.batches[bi], data[bi], refs[bi]));
      } catch (const Error& e) {  // e.g. out of device memory: that run fails, the others go on
        Run failed;
        failed.device = di, failed.batch = c.batches[bi];
        std::vector<Device> placement;
        failed.rows = plan_rows(c, res.devices[di].device, &placement);
        for (Row& r : failed.rows)
          if (r.ok()) r.status = "failed", r.reason = e.what();
        if (c.progress)
          c.progress(res.devices[di].id + " batch " + std::to_string(c.batches[bi]) + ": failed: " + e.what());
        res.runs.push_back(std::move(failed));
      }
    }
  return res;
}

}  // namespace tandem::cli::compare
