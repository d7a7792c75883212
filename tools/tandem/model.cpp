// `tandem model`: a model's graph description (version-2 JSON, to edit into a model of one's
// own or to hand to another framework: tools/torch_parity.py reads it) and its layers.
#include <cstdio>

#include "commands.h"
#include "options.h"
#include "table.h"
#include "tandem/nn/model.h"

namespace tandem::cli {
namespace {

struct ModelOptions {
  std::string model = "cnn";
  bool json = false;
};

void run(const ModelOptions& o) {
  const nn::ModelSpec spec = nn::load_model(o.model);
  if (o.json) {
    std::printf("%s\n", spec.to_json().c_str());
    return;
  }
  const std::vector<Shape> shapes = spec.shapes();
  const std::vector<nn::ParamSpec> params = spec.params();
  Table t({"node", "op", "inputs", "output", "parameters"});
  int64_t total = 0;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    int64_t n = 0;
    for (const nn::ParamSpec& p : params)
      if (p.layer == i) n += p.shape.numel();
    total += n;
    std::string in;
    for (const std::string& s : spec.layers[i].inputs) in += (in.empty() ? "" : ", ") + s;
    t.add({spec.layer_name(i), std::string(nn::layer_type_name(spec.layers[i].type)), in, shapes[i].str(),
           n ? std::to_string(n) : "-"});
  }
  std::printf("%s: input %s, %d classes, %zu nodes, %lld parameters\n", spec.name.c_str(), spec.input.str().c_str(),
              spec.classes, spec.layers.size(), static_cast<long long>(total));
  t.print();
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("model", "Show a model's graph: its nodes, shapes and parameters, or its JSON description");
  auto o = std::make_shared<ModelOptions>();
  cmd->add_option("--model", o->model, model_help())
      ->capture_default_str()
      ->check(model_source());
  cmd->add_flag("--json", o->json, "Print the version-2 graph description");
  cmd->callback([o] { run(*o); });
}

}  // namespace tandem::cli
