// The graph's ops and their builder functions: the C++ way to write a model as a graph.
//   Graph g;
//   ValueId x = g.input("x", {64, 1, 28, 28});
//   ValueId y = relu(g, conv2d(g, x, g.param("conv1.weight", {16, 1, 3, 3}), {1, 1, 1, 1}, "conv1"), "relu1");
// Layouts are the op table's (tandem/ops.h): activations NCHW or [N, features].
#pragma once

#include "tandem/graph/op.h"
#include "tandem/ops.h"

namespace tandem::graph {

/// The op definitions, for capability queries and passes (node.op == &opdef::relu).
namespace opdef {
extern const GraphOp conv2d, conv2d_backward_data, conv2d_backward_weights, bias_add, bias_relu, bias_backward, relu,
    relu_backward, add_relu, matmul, maxpool2d, maxpool2d_backward, bias_relu_maxpool2d, softmax_xent,
    softmax_xent_backward, add, reshape, copy, zeros, transfer, batchnorm_train, batchnorm_backward, batchnorm_infer,
    batchnorm_fold, avgpool2d, avgpool2d_backward, global_avgpool, global_avgpool_backward, dropout, dropout_backward,
    batched_matmul, softmax, masked_softmax, softmax_backward, layernorm, layernorm_backward, activation,
    activation_backward, embedding, embedding_backward, permute, slice, slice_backward, concat, broadcast_binary,
    sum_to, expand, scale, attention, attention_backward;
}  // namespace opdef

ValueId conv2d(Graph& g, ValueId x, ValueId w, const Conv2dParams& p, const std::string& name);
/// y = x + bias[C] over dimension 1.
ValueId bias_add(Graph& g, ValueId x, ValueId bias, const std::string& name);
ValueId relu(Graph& g, ValueId x, const std::string& name);
/// The fusion pass: a ReLU whose input is read by it alone, made on the same device by a node
/// with a fused form there, is folded into that node: bias_add becomes bias_relu (ops::bias_relu),
/// add becomes add_relu (ops::add_relu), batch normalization gets "relu" = 1
/// (BatchNormParams::relu); the backward rules are the pair's composed. Run on a forward graph,
/// before autodiff. Returns how many ReLUs were fused.
size_t fuse_relu(Graph& g);
/// The fusion pass for a convolution's tail: bias_add, ReLU and maxpool2d in a row (each value
/// read by the next node alone, one device that has ops::bias_relu_maxpool2d) become one
/// bias_relu_maxpool2d node — on an FPGA its fused core. Run before fuse_relu (which would take
/// the bias and ReLU first), on a forward graph. Returns how many were fused.
size_t fuse_bias_relu_pool(Graph& g);
/// o = softmax(scale·q·kᵀ)·v per batch entry, fused (ops::attention_forward): q [B,Tq,d], k and v [B,Tk,d].
ValueId attention(Graph& g, ValueId q, ValueId k, ValueId v, float scale, const std::string& name);
/// The fusion pass for attention written out: batched matmul q·kᵀ, softmax over its last axis and
/// batched matmul with v (the scores and probabilities each read by the next node alone, one
/// device with both attention kernels) become one attention node; the backward pass then
/// recomputes the probabilities instead of keeping them. Only heads at least min_head_width
/// wide: on narrower ones the recomputation (the exponentials again) costs more than the fused
/// pass saves (BENCHMARKS.md, "Fused attention": 0.85× the written-out form for vit's heads of
/// 16, 1.14× for BERT-mini's of 64, forward and backward on the CPU). Run on a forward graph,
/// before autodiff. Returns how many were fused.
size_t fuse_attention(Graph& g, int64_t min_head_width = 32);
/// c = op(a)·op(b) (GemmParams' transposes; alpha and beta are 1 and 0): 2-D values, or 3-D
/// ones (a batch of matrices first, the same in a and b: gemm_batched).
ValueId matmul(Graph& g, ValueId a, ValueId b, bool trans_a, bool trans_b, const std::string& name);
/// Returns {y, indices}.
std::vector<ValueId> maxpool2d(Graph& g, ValueId x, const Pool2dParams& p, const std::string& name);
/// Mean softmax cross-entropy of logits [N, C] against i32 labels [N]: returns {loss [1], probs [N, C]}.
/// Rows labeled ignore_index are left out (a masked-token loss; XentParams).
std::vector<ValueId> softmax_xent(Graph& g, ValueId logits, ValueId labels, const std::string& name,
                                  int32_t ignore_index = XentParams::no_ignore);
/// c = a + b: the same shapes, or shapes that broadcast (NumPy's rules; broadcast_binary).
ValueId add(Graph& g, ValueId a, ValueId b, const std::string& name);
/// c = a − b and c = a ⊙ b, broadcasting.
ValueId sub(Graph& g, ValueId a, ValueId b, const std::string& name);
ValueId mul(Graph& g, ValueId a, ValueId b, const std::string& name);
/// x summed down to a shape that broadcasts to x's (x itself when it has that shape).
ValueId sum_to(Graph& g, ValueId x, const Shape& shape, const std::string& name);
/// x broadcast to a shape (x itself when it has it).
ValueId expand(Graph& g, ValueId x, const Shape& shape, const std::string& name);
/// y = alpha·x.
ValueId scale(Graph& g, ValueId x, float alpha, const std::string& name);
/// y = softmax(scale·x) along p.axis; with a mask (u8 [M, n], see ops::masked_softmax_forward),
/// over the last axis, masked positions 0.
ValueId softmax(Graph& g, ValueId x, const SoftmaxParams& p, const std::string& name, ValueId mask = no_value);
/// Layer normalization over the last dimension; returns y.
ValueId layernorm(Graph& g, ValueId x, ValueId gamma, ValueId beta, const LayerNormParams& p, const std::string& name);
/// GELU, tanh or sigmoid.
ValueId activation(Graph& g, ValueId x, Activation kind, const std::string& name);
/// Rows of table [V, D] gathered by ids (i32 [...]): [ids..., D].
ValueId embedding(Graph& g, ValueId ids, ValueId table, const std::string& name);
/// Dimensions reordered: output dimension i is x's perm[i] (a view when only unit dimensions move).
ValueId permute(Graph& g, ValueId x, const std::vector<int>& perm, const std::string& name);
/// `length` positions of x from `start` along `axis`.
ValueId slice(Graph& g, ValueId x, int axis, int64_t start, int64_t length, const std::string& name);
/// a and b joined along `axis` (the other dimensions equal).
ValueId concat(Graph& g, ValueId a, ValueId b, int axis, const std::string& name);
/// The same elements in another shape (a view: no copy).
ValueId reshape(Graph& g, ValueId x, const Shape& shape, const std::string& name);
/// [N, ...] as [N, features].
ValueId flatten(Graph& g, ValueId x, const std::string& name);
/// Batch normalization with batch statistics; running_mean and running_var (state values) are
/// updated in place. Returns y.
ValueId batchnorm_train(Graph& g, ValueId x, ValueId gamma, ValueId beta, ValueId running_mean, ValueId running_var,
                        const BatchNormParams& p, const std::string& name);
/// Batch normalization with the running statistics (inference).
ValueId batchnorm_infer(Graph& g, ValueId x, ValueId gamma, ValueId beta, ValueId running_mean, ValueId running_var,
                        const BatchNormParams& p, const std::string& name);
/// The folding pass (inference graphs): a conv2d, optionally followed by its bias_add, then
/// batchnorm_infer, each value read by the next node alone and all on one device that has
/// ops::batchnorm_fold, becomes conv2d with folded weights and one bias_add (bias_relu when the
/// normalization had a fused ReLU): a batchnorm_fold node computes the weights and bias from the
/// parameters and running statistics on each run. Outputs equal the unfolded graph's to
/// rounding. Returns how many normalizations were folded.
size_t fold_batchnorm(Graph& g);
ValueId avgpool2d(Graph& g, ValueId x, const Pool2dParams& p, const std::string& name);
/// [N,C,H,W] -> [N,C]: the mean of each plane.
ValueId global_avgpool(Graph& g, ValueId x, const std::string& name);
/// Drops elements with probability p (keyed by seed and the node's "step" and "rank"
/// attributes, which the trainer sets per step), scaling the rest by 1/(1 − p).
ValueId dropout(Graph& g, ValueId x, float p, uint64_t seed, const std::string& name);
/// A copy of x (a fresh value with its own memory).
ValueId copy(Graph& g, ValueId x, const std::string& name);
/// Zeros of a shape.
ValueId zeros(Graph& g, const Shape& shape, const std::string& name);
/// x copied to another device (stream-ordered, with an event where the devices allow).
ValueId transfer(Graph& g, ValueId x, const Device& to, const std::string& name);

}  // namespace tandem::graph
