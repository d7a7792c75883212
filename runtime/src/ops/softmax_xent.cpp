// Softmax cross-entropy: forward gives probabilities and the mean loss; backward its gradient.
#include "check.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

void validate_common(const OpCall& c, const Tensor& logits_like, const Tensor& labels) {
  opcheck::rank(c, logits_like, 2);
  opcheck::dtype(c, logits_like, DType::f32);
  opcheck::rank(c, labels, 1);
  opcheck::dtype(c, labels, DType::i32);
  opcheck::dim(c, labels, 0, logits_like.shape()[0], "batch");
  if (logits_like.shape()[0] == 0) c.fail(opcheck::describe(c, logits_like) + ": empty batch");
}

void validate_fwd(const OpCall& c) {
  const Tensor &logits = *c.in[0], &labels = *c.in[1], &probs = *c.out[0], &loss = *c.out[1];
  validate_common(c, logits, labels);
  opcheck::same_shape(c, logits, probs);
  opcheck::dtype(c, probs, DType::f32);
  opcheck::dtype(c, loss, DType::f32);
  if (loss.numel() != 1) c.fail(opcheck::describe(c, loss) + ": expected one element");
}

void validate_bwd(const OpCall& c) {
  const Tensor &probs = *c.in[0], &labels = *c.in[1], &dlogits = *c.out[0];
  validate_common(c, probs, labels);
  opcheck::same_shape(c, probs, dlogits);
  opcheck::dtype(c, dlogits, DType::f32);
}

// exp, sum, divide and log per element, roughly.
OpCost cost(const OpCall& c) { return {4.0 * static_cast<double>(c.in[0]->numel()), opcheck::bytes_of(c)}; }

}  // namespace

const OpDesc opdesc::softmax_xent_forward("softmax_xent_forward", {"logits", "labels"}, {writes("probs"), writes("loss")}, validate_fwd,
                                          cost);
const OpDesc opdesc::softmax_xent_backward("softmax_xent_backward", {"probs", "labels"}, {writes("dlogits")}, validate_bwd,
                                           cost);

void ops::softmax_xent_forward(Stream& s, const Tensor& logits, const Tensor& labels, const Tensor& probs,
                               const Tensor& loss, const XentParams& p) {
  dispatch(s, opdesc::softmax_xent_forward, {&logits, &labels}, {&probs, &loss}, &p);
}
void ops::softmax_xent_backward(Stream& s, const Tensor& probs, const Tensor& labels, const Tensor& dlogits,
                                const XentParams& p) {
  dispatch(s, opdesc::softmax_xent_backward, {&probs, &labels}, {&dlogits}, &p);
}

}  // namespace tandem
