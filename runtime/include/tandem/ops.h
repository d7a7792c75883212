// The layer ops every backend implements, forward and backward, with their parameters.
// Layouts: activations NCHW (or [N, features]), conv weights [K, C, R, S], row-major.
// Every function validates shapes and devices (throwing Error) and runs on the stream; outputs
// are preallocated by the caller and overwritten unless the op says it accumulates.
#pragma once

#include "tandem/numeric/philox.h"
#include "tandem/op.h"
#include "tandem/stream.h"

namespace tandem {

struct GemmParams {
  bool trans_a = false;
  bool trans_b = false;
  float alpha = 1.0f;
  float beta = 0.0f;
};

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
};

struct Pool2dParams {
  int kernel = 2;
  int stride = 2;
};

/// Per-chunk reductions and quantization, the primitives of the gradient codecs: element i
/// belongs to chunk i / chunk.
struct ChunkParams {
  int64_t chunk = 256;
};

/// How quantize derives a chunk's step from its values.
enum class QuantScale : uint8_t {
  absmax,  ///< unit = max |x| / levels: every value representable (int8, TernGrad)
  norm2,   ///< unit = ‖x‖₂ / levels: QSGD's scaling
};

struct QuantizeParams {
  int64_t chunk = 256;
  int levels = 127;  ///< q ∈ [−levels, levels], at most 127 (stored as i8)
  QuantScale scale = QuantScale::absmax;
  bool stochastic = true;      ///< unbiased stochastic rounding; false: round to nearest even
  numeric::RandomKey key;  ///< element i draws random_uniform(key, i)
};

/// Fixed-width fields: element i is stored as q[i] + offset in `width` bits (see bitpack.h).
struct BitPackParams {
  int width = 8;   ///< 1..8
  int offset = 0;  ///< added before packing, subtracted after unpacking
};

/// Stratified sampling of k elements out of n: stratum j is [⌊jn/k⌋, ⌊(j+1)n/k⌋), and its
/// element is start + ⌊random_u32(key, j) · size / 2³²⌋ — exact integer arithmetic, the same on
/// every device.
struct SampleParams {
  numeric::RandomKey key;
  bool scaled = true;  ///< val = x[idx] · stratum size: an unbiased estimate of x (random-k)
};

struct SelectParams {
  int64_t k = 1;  ///< 1 ≤ k ≤ n
};

struct CompactParams {
  int64_t limit = INT64_MAX;  ///< ties (|x| = t) are taken, in index order, only up to this many selected
};

struct RandomFillParams {
  numeric::RandomKey key;
  float lo = -1.0f, hi = 1.0f;
};

struct ScaleParams {
  float alpha = 1.0f;
};

struct FillParams {
  float value = 0.0f;
};

/// Output extent of a convolution or pooling window along one axis (floor mode).
constexpr int64_t window_out(int64_t in, int64_t window, int64_t stride, int64_t pad) {
  return (in + 2 * pad - window) / stride + 1;
}

/// Descriptors, for capability queries (device.supports(opdesc::gemm)) and cost models.
namespace opdesc {
extern const OpDesc gemm, conv2d_forward, conv2d_backward_data, conv2d_backward_weights, bias_add, bias_backward,
    relu_forward, relu_backward, maxpool2d_forward, maxpool2d_backward, softmax_xent_forward, softmax_xent_backward,
    axpy, scale, fill, add, sub, mul, cast, chunk_absmax, chunk_norm2, chunk_absmean, quantize, dequantize, sign_pack,
    sign_unpack, pack_bits, unpack_bits, sample, kth_magnitude, compact, scatter_add, random_fill, orthonormalize;
}  // namespace opdesc

namespace ops {

/// c = alpha·op(a)·op(b) + beta·c, op(x) = x or xᵀ. a [M,K] ([K,M] if trans_a), b [K,N]
/// ([N,K] if trans_b), c [M,N]; all f32, or all f16 / all bf16 (computed in f32).
void gemm(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c, const GemmParams& p = {});

/// y[N,K,P,Q] = conv(x[N,C,H,W], w[K,C,R,S]) with stride and zero padding. f32.
void conv2d_forward(Stream& s, const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dParams& p);
/// dx[N,C,H,W] = gradient of the convolution with respect to its input.
void conv2d_backward_data(Stream& s, const Tensor& dy, const Tensor& w, const Tensor& dx, const Conv2dParams& p);
/// dw[K,C,R,S] = gradient of the convolution with respect to its weights.
void conv2d_backward_weights(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& dw, const Conv2dParams& p);

/// y[N,C,...] += bias[C], in place (the channel is dimension 1). f32.
void bias_add(Stream& s, const Tensor& y, const Tensor& bias);
/// dbias[C] = sum of dy[N,C,...] over every dimension but the channel.
void bias_backward(Stream& s, const Tensor& dy, const Tensor& dbias);

/// y = max(x, 0); y may be x.
void relu_forward(Stream& s, const Tensor& x, const Tensor& y);
/// dx = dy where x > 0, else 0; dx may be dy.
void relu_backward(Stream& s, const Tensor& x, const Tensor& dy, const Tensor& dx);

/// y[N,C,P,Q] = max over each window of x[N,C,H,W]; indices (i32, same shape as y) hold the
/// position h·W + w of each maximum within its plane (the first one on ties).
void maxpool2d_forward(Stream& s, const Tensor& x, const Tensor& y, const Tensor& indices, const Pool2dParams& p = {});
/// dx[N,C,H,W] = dy routed to the positions in indices (summed where windows overlap).
void maxpool2d_backward(Stream& s, const Tensor& dy, const Tensor& indices, const Tensor& dx);

/// probs[N,C] = softmax(logits), loss[1] = mean over the batch of −log probs[n, labels[n]].
/// labels are i32 in [0, C); an out-of-range label is an error naming the sample.
void softmax_xent_forward(Stream& s, const Tensor& logits, const Tensor& labels, const Tensor& probs,
                          const Tensor& loss);
/// dlogits = dloss · (probs − onehot(labels)) / N: the gradient of the mean loss.
void softmax_xent_backward(Stream& s, const Tensor& probs, const Tensor& labels, const Tensor& dlogits,
                           float dloss = 1.0f);

/// y += alpha·x (gradient accumulation). f32, f16 or bf16 (computed in f32).
void axpy(Stream& s, float alpha, const Tensor& x, const Tensor& y);
/// x *= alpha, in place.
void scale(Stream& s, float alpha, const Tensor& x);
/// y = value everywhere.
void fill(Stream& s, const Tensor& y, float value);
/// c = a + b; c may alias a or b.
void add(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c);
/// c = a − b; c may alias a or b.
void sub(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c);
/// c = a ⊙ b elementwise (applies pruning masks); c may alias a or b.
void mul(Stream& s, const Tensor& a, const Tensor& b, const Tensor& c);
/// dst = src converted to dst's dtype (same element count; floating types and integers); dst
/// may be src when the dtypes have one size.
void cast(Stream& s, const Tensor& src, const Tensor& dst);

/// scales[c] = max |x| over chunk c of x (f32 [n] → f32 [⌈n/chunk⌉]).
void chunk_absmax(Stream& s, const Tensor& x, const Tensor& scales, const ChunkParams& p);
/// scales[c] = ‖x‖₂ over chunk c (summed in f64).
void chunk_norm2(Stream& s, const Tensor& x, const Tensor& scales, const ChunkParams& p);
/// scales[c] = mean |x| over chunk c (summed in f64): the scale of 1-bit sign compression.
void chunk_absmean(Stream& s, const Tensor& x, const Tensor& scales, const ChunkParams& p);
/// 1-bit sign compression in one pass: unit[c] = mean |x| over chunk c (summed in f64), and
/// bits (u8 [⌈n/8⌉]): bit i%8 of byte i/8 is 1 where x[i] ≥ 0 (so +0 and −0 give 1, NaN 0);
/// unused high bits of the last byte are 0.
void sign_pack(Stream& s, const Tensor& x, const Tensor& unit, const Tensor& bits, const ChunkParams& p);
/// y[i] = +unit[c] where bit i is 1, −unit[c] where it is 0.
void sign_unpack(Stream& s, const Tensor& bits, const Tensor& unit, const Tensor& y, const ChunkParams& p);
/// unit[c] = (max |x| or ‖x‖₂ over chunk c) / levels (IEEE division), and q[i] = x[i] / unit[c]
/// rounded and clamped to ±levels, as i8 (unit 0 or non-finite x gives q = 0). One pass per
/// chunk, so the chunk is read from memory once. Stochastic rounding goes up with probability
/// equal to the fractional part, using Philox(key, i): unbiased, and the same on every device.
void quantize(Stream& s, const Tensor& x, const Tensor& unit, const Tensor& q, const QuantizeParams& p);
/// y[i] = q[i] · unit[c].
void dequantize(Stream& s, const Tensor& q, const Tensor& unit, const Tensor& y, const ChunkParams& p);
/// bits (u8 [packed_bytes(n, width)]) = the fields q[i] + offset (i8 [n]), each < 2^width;
/// padding bits of the last byte are 0.
void pack_bits(Stream& s, const Tensor& q, const Tensor& bits, const BitPackParams& p);
/// q[i] = field i of bits − offset.
void unpack_bits(Stream& s, const Tensor& bits, const Tensor& q, const BitPackParams& p);

/// Stratified random sampling (SampleParams): idx i32 [k] increasing, val f32 [k]. x f32 [n],
/// n < 2³¹.
void sample(Stream& s, const Tensor& x, const Tensor& idx, const Tensor& val, const SampleParams& p);
/// t f32 [1] = the k-th largest |x|.
void kth_magnitude(Stream& s, const Tensor& x, const Tensor& t, const SelectParams& p);
/// Stream compaction by magnitude: every i with |x[i]| > t[0], and those with |x[i]| = t[0] in
/// index order while fewer than `limit` are selected, written as idx (i32) and val (f32) in
/// increasing index order; count i32 [1] = how many were selected. Outputs hold the first
/// min(count, capacity) of them — a caller whose capacity was short runs again with more.
void compact(Stream& s, const Tensor& x, const Tensor& t, const Tensor& idx, const Tensor& val, const Tensor& count,
             const CompactParams& p = {});
/// y[idx[j]] += val[j]: decoding and summing sparse payloads. Every index must be in [0, n).
void scatter_add(Stream& s, const Tensor& idx, const Tensor& val, const Tensor& y);
/// y[i] = lo + (hi − lo) · random_uniform(key, i).
void random_fill(Stream& s, const Tensor& y, const RandomFillParams& p);
/// The columns of a (f32 [m, r], in place) become orthonormal, in order (Gram–Schmidt, applied
/// twice for stability); a column that depends on the earlier ones becomes zero.
void orthonormalize(Stream& s, const Tensor& a);

}  // namespace ops
}  // namespace tandem
