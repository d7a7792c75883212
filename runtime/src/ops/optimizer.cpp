// The optimizers' element-wise updates: adam_update (Adam and AdamW, as torch.optim computes
// them), and the host-side derivation of its scalars.
#include <cmath>
#include <string>

#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate(const OpCall& c) {
  const auto& p = c.param<AdamParams>();
  for (const float v :
       {p.beta1, p.beta2, p.one_minus_beta1, p.one_minus_beta2, p.eps, p.l2, p.decay, p.step_size, p.bias2_sqrt})
    if (!std::isfinite(v)) c.fail("its parameters must be finite (got " + std::to_string(v) + ")");
  if (!(p.bias2_sqrt > 0.0f)) c.fail("bias2_sqrt must be > 0 (got " + std::to_string(p.bias2_sqrt) + ")");
  const Tensor& g = *c.in[0];
  opcheck::dtype(c, g, DType::f32);
  for (const Tensor* t : c.out) opcheck::dtype(c, *t, DType::f32), opcheck::same_shape(c, g, *t);
}

// Per element: the decay, two moment updates, a square root, two divisions and the step.
OpCost cost(const OpCall& c) { return {14.0 * static_cast<double>(c.in[0]->numel()), opcheck::bytes_of(c)}; }

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorKind::invalid_argument, "", "adam", what); }

}  // namespace

const OpDesc opdesc::adam_update("adam_update", {"g"}, {updates("w"), updates("m"), updates("v")}, validate, cost);

AdamParams adam_params(float lr, float beta1, float beta2, float eps, float weight_decay, bool decoupled, int64_t t) {
  if (!(beta1 >= 0.0f && beta1 < 1.0f)) bad("beta1 must be in [0, 1) (got " + std::to_string(beta1) + ")");
  if (!(beta2 >= 0.0f && beta2 < 1.0f)) bad("beta2 must be in [0, 1) (got " + std::to_string(beta2) + ")");
  if (!(eps > 0.0f) || !std::isfinite(eps)) bad("eps must be a finite number > 0 (got " + std::to_string(eps) + ")");
  if (!std::isfinite(lr)) bad("the learning rate must be finite (got " + std::to_string(lr) + ")");
  if (!std::isfinite(weight_decay)) bad("weight decay must be finite (got " + std::to_string(weight_decay) + ")");
  if (t < 1) bad("the step count starts at 1 (got " + std::to_string(t) + ")");
  // torch.optim.Adam: bias_correction1 = 1 − β1^t, step_size = lr / bias_correction1,
  // bias_correction2_sqrt = √(1 − β2^t), all in double; each reaches the kernels as f32.
  const double td = static_cast<double>(t);
  AdamParams p;
  p.beta1 = beta1;
  p.beta2 = beta2;
  p.one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  p.one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  p.eps = eps;
  p.l2 = decoupled ? 0.0f : weight_decay;
  p.decay = decoupled ? static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay)) : 1.0f;
  p.step_size = static_cast<float>(static_cast<double>(lr) / (1.0 - std::pow(static_cast<double>(beta1), td)));
  p.bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(beta2), td)));
  return p;
}

void ops::adam_update(Stream& s, const Tensor& g, const Tensor& w, const Tensor& m, const Tensor& v,
                      const AdamParams& p) {
  dispatch(s, opdesc::adam_update, {&g}, {&w, &m, &v}, &p);
}

}  // namespace tandem
