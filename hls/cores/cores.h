// The HLS cores' top functions: what a bitstream's kernels are, what the fpga-sim device runs in
// C simulation, and what the XRT driver launches (argument order = kernel argument index; the
// manifests in bitstreams/manifests/ list the same names and types). Pointers are m_axi ports
// (one bundle each, so each can map to its own memory bank); scalars are s_axilite registers.
// Plain C types only: the XRT manifest's argument types are these spellings.
#pragma once

#include <cstdint>

extern "C" {

/// c[m,n] = alpha·op(a)·op(b) + beta·c, op(x) = x or xᵀ (trans_* ≠ 0). Tiled, II=1 inner loop.
void tandem_gemm(const float* a, const float* b, float* c, int m, int n, int k, int trans_a, int trans_b, float alpha,
                 float beta);
/// `batch` products c[i] = alpha·op(a[i])·op(b[i]) + beta·c[i], the matrices one after another.
void tandem_gemm_batched(const float* a, const float* b, float* c, int batch, int m, int n, int k, int trans_a,
                         int trans_b, float alpha, float beta);

/// y[n,k,p,q] = conv(x[n,c,h,w], wt[k,c,r,s]) with stride and zero padding: im2col columns
/// streamed into the GEMM engine.
void tandem_conv2d_forward(const float* x, const float* wt, float* y, int n, int c, int h, int w, int k, int r, int s,
                   int stride_h, int stride_w, int pad_h, int pad_w);

/// y = maxpool(relu(x + bias[channel])) over pool×pool windows with `stride`, and idx = the
/// position h·w_in + w of each maximum in its plane (first on ties): bias_add, relu_forward and
/// maxpool2d_forward fused, one read of x.
void tandem_bias_relu_pool(const float* x, const float* bias, float* y, int* idx, int n, int c, int h, int w, int pool,
                           int stride);

/// scales[i] = max |x| over chunk i (NaN counts as 0).
void tandem_chunk_absmax(const float* x, float* scales, int n, int chunk);

/// Chunked quantization to i8 levels (ops::quantize): unit[i] = (abs-max, or L2 norm when
/// norm2 ≠ 0, of chunk i) / levels; q = x / unit rounded (to nearest even, or stochastically
/// with Philox keyed by seed/step/rank/offset when stochastic ≠ 0) and clamped to ±levels.
void tandem_quantize(const float* x, float* unit, int8_t* q, int n, int chunk, int levels, int norm2, int stochastic,
                     uint64_t seed, uint32_t step, uint32_t rank, uint64_t offset);

/// 1-bit sign compression (ops::sign_pack): unit[i] = mean |x| over chunk i; bit j of bits is 1
/// where x[j] ≥ 0.
void tandem_sign_pack(const float* x, float* unit, uint8_t* bits, int n, int chunk);

/// Threshold selection + stream compaction (ops::compact): every j with |x[j]| > threshold, and
/// those equal to it in index order while fewer than `limit` are selected, as idx/val in index
/// order (at most `capacity` written); count[0] = how many were selected.
void tandem_compact(const float* x, float threshold, int32_t* idx, float* val, int32_t* count, int n, int capacity,
                    int64_t limit);

/// Accumulation and error feedback: y = alpha·x + (start ? 0 : y).
void tandem_axpy(const float* x, float* y, float alpha, int n, int start);

/// Element-wise vector unit, one element per cycle: by `op`, y = value (0: fill), alpha·y (1:
/// scale), a + b (2: add), a ⊙ b (3: mul), max(a, 0) (4: relu), a > 0 ? b : 0 (5: relu backward,
/// a = x, b = dy), a − b (6: sub). y may alias a or b.
void tandem_elementwise(int op, const float* a, const float* b, float* y, float alpha, int n);

/// y[n, c, inner] += bias[c] (in place), or dbias[c] = Σ over n and inner of dy (backward ≠ 0,
/// summed in f64 as the CPU does).
void tandem_bias(const float* bias_or_dy, float* y_or_dbias, int n, int c, int inner, int backward);

/// Max-pool forward (values and first-maximum indices) over pool×pool windows with `stride`.
void tandem_maxpool2d_forward(const float* x, float* y, int32_t* idx, int planes, int h, int w, int pool, int stride);
/// Max-pool backward: dx = dy routed to the indices (summed where windows overlap).
void tandem_maxpool2d_backward(const float* dy, const int32_t* idx, float* dx, int planes, int outputs, int inputs);

/// Softmax cross-entropy forward (probs and the batch's mean loss) and backward
/// (dlogits = scale · (probs − onehot) / n). Labels must be in [0, classes) (the host checks).
void tandem_softmax_xent_forward(const float* logits, const int32_t* labels, float* probs, float* loss, int n, int classes);
void tandem_softmax_xent_backward(const float* probs, const int32_t* labels, float* dlogits, float scale, int n,
                                  int classes);

/// Convolution gradients on the MAC engine: dx (input gradient: output pixels' dy gathered
/// through the kernel, the transposed convolution) and dw (weight gradient: dy times im2col(x)ᵀ,
/// reduced over the batch and output pixels).
void tandem_conv2d_backward_data(const float* dy, const float* wt, float* dx, int n, int c, int h, int w, int k, int r,
                                 int s, int stride_h, int stride_w, int pad_h, int pad_w);
void tandem_conv2d_backward_weights(const float* x, const float* dy, float* dw, int n, int c, int h, int w, int k,
                                    int r, int s, int stride_h, int stride_w, int pad_h, int pad_w);

}  // extern "C"
