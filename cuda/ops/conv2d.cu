// conv2d forward, backward-data and backward-weights on cuDNN (NCHW, f32, cross-correlation as
// the CPU's im2col computes it; dilation and groups are cuDNN's own: the filter descriptor is
// [K, C/groups, R, S] like the op's w, and each convolution descriptor has the group count).
// Per device and shape, a plan holds the descriptors and, for each direction, the algorithm
// cudnnGet…_v7 ranks fastest among those that fit the workspace cap, with its workspace size;
// the workspace itself is stream-ordered scratch for each call.
// Math: FMA only (full f32) unless TANDEM_CUDA_TF32=1 lets cuDNN use TF32 tensor cores.
#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "op.h"

namespace tandem::cuda {
namespace {

constexpr size_t workspace_cap = size_t{512} << 20;  // beyond this an algorithm is not worth the memory

struct Shape4 {
  int n, c, h, w;
};

// One direction's choice.
struct Algo {
  int algo = -1;  // not chosen yet
  size_t workspace = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
};

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv[3] = {};  // one per direction: the math type is per descriptor
  Algo algo[3];
  std::mutex mutex;  // guards choosing algo[]
};

enum Direction { kForward, kBackwardData, kBackwardWeights };

using Key = std::array<int, 15>;  // device ordinal, N C H W, K R S, stride, padding, dilation, groups

// Plans live for the process (like the devices): a handful of shapes per model.
Plan& plan_for(const Op& op, const Shape4& x, const Shape4& w, const Shape4& y, const Conv2dParams& p) {
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Plan>> plans;
  const Key key{op.device.ordinal(), x.n,        x.c,     x.h,     x.w,          w.n,          w.h,     w.w,
                p.stride_h,          p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w, p.groups};
  std::lock_guard lock(mutex);
  auto& slot = plans[key];
  if (slot) return *slot;
  auto plan = std::make_unique<Plan>();
  TANDEM_OP_CHECK(op, cudnnCreateTensorDescriptor(&plan->x));
  TANDEM_OP_CHECK(op, cudnnCreateTensorDescriptor(&plan->y));
  TANDEM_OP_CHECK(op, cudnnCreateFilterDescriptor(&plan->w));
  TANDEM_OP_CHECK(op, cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, x.n, x.c, x.h, x.w));
  TANDEM_OP_CHECK(op, cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, y.n, y.c, y.h, y.w));
  TANDEM_OP_CHECK(op, cudnnSetFilter4dDescriptor(plan->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, w.n, w.c, w.h, w.w));
  for (auto& conv : plan->conv) {
    TANDEM_OP_CHECK(op, cudnnCreateConvolutionDescriptor(&conv));
    TANDEM_OP_CHECK(op, cudnnSetConvolution2dDescriptor(conv, p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.dilation_h,
                                                        p.dilation_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    TANDEM_OP_CHECK(op, cudnnSetConvolutionGroupCount(conv, p.groups));
    TANDEM_OP_CHECK(op, cudnnSetConvolutionMathType(conv, tf32_enabled() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  }
  int dims[4] = {};
  TANDEM_OP_CHECK(op, cudnnGetConvolutionNdForwardOutputDim(plan->conv[0], plan->x, plan->w, 4, dims));
  if (dims[0] != y.n || dims[1] != y.c || dims[2] != y.h || dims[3] != y.w)
    throw Error(ErrorKind::internal, op.device.id(), op.call.op.name, "cuDNN's output shape differs from the op's");
  slot = std::move(plan);
  return *slot;
}

// Whether a ranked result may be used: it ran, fits the cap, and is no tensor-core kernel unless
// TF32 is allowed.
template <class Perf>
bool usable(const Perf& r) {
  const bool tensor_cores = r.mathType == CUDNN_TENSOR_OP_MATH || r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  return r.status == CUDNN_STATUS_SUCCESS && r.memory <= workspace_cap && (tf32_enabled() || !tensor_cores);
}

// Without TF32 the descriptor stays on FMA math whatever the result says (CUDNN_DEFAULT_MATH
// would permit TF32 on Ampere and later); with it, the result's math type, as cuDNN asks.
template <class Perf>
Algo pick(const Op& op, const Perf* results, int count) {
  for (int i = 0; i < count; ++i)
    if (usable(results[i]))
      return {static_cast<int>(results[i].algo), results[i].memory,
              tf32_enabled() ? results[i].mathType : CUDNN_FMA_MATH};
  throw Error(
      ErrorKind::unsupported, op.device.id(), op.call.op.name,
      "cuDNN offers no algorithm for this shape within " + std::to_string(workspace_cap >> 20) + " MiB of workspace");
}

// The direction's algorithm, chosen on first use of the plan (cudnnGet…_v7: heuristics, no trial runs).
const Algo& algorithm(const Op& op, Plan& plan, Direction d) {
  std::lock_guard lock(plan.mutex);
  Algo& a = plan.algo[d];
  if (a.algo >= 0) return a;
  cudnnHandle_t h = op.stream.cudnn();
  int count = 0;
  if (d == kForward) {
    cudnnConvolutionFwdAlgoPerf_t r[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    TANDEM_OP_CHECK(op, cudnnGetConvolutionForwardAlgorithm_v7(h, plan.x, plan.w, plan.conv[d], plan.y,
                                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, r));
    a = pick(op, r, count);
  } else if (d == kBackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    TANDEM_OP_CHECK(op, cudnnGetConvolutionBackwardDataAlgorithm_v7(h, plan.w, plan.y, plan.conv[d], plan.x,
                                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, r));
    a = pick(op, r, count);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    TANDEM_OP_CHECK(op,
                    cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, plan.x, plan.y, plan.conv[d], plan.w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, r));
    a = pick(op, r, count);
  }
  TANDEM_OP_CHECK(op, cudnnSetConvolutionMathType(plan.conv[d], a.math));
  return a;
}

Shape4 shape4(const Op& op, const Tensor& t) {
  const Shape& s = t.shape();
  return {op.count32(s[0], "dimension"), op.count32(s[1], "dimension"), op.count32(s[2], "dimension"),
          op.count32(s[3], "dimension")};
}

// Runs one direction: x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q], whichever are inputs. A direction
// with an empty tensor involved writes zeros (or nothing): cuDNN rejects zero dimensions.
void convolve(const OpCall& c, Direction d, const Tensor& x, const Tensor& w, const Tensor& y) {
  const Op op(c);
  const Tensor& out = d == kForward ? y : d == kBackwardData ? x : w;
  if (out.numel() == 0) return;
  if (x.numel() == 0 || w.numel() == 0 || y.numel() == 0) {  // sums over nothing
    TANDEM_OP_CHECK(op, cudaMemsetAsync(out.data(), 0, out.nbytes(), op.s()));
    return;
  }
  Plan& plan = plan_for(op, shape4(op, x), shape4(op, w), shape4(op, y), c.param<Conv2dParams>());
  const Algo& a = algorithm(op, plan, d);
  const Scratch ws(op, a.workspace);
  cudnnHandle_t h = op.stream.cudnn();
  const float one = 1.0f, zero = 0.0f;
  if (d == kForward) {
    TANDEM_OP_CHECK(op, cudnnConvolutionForward(h, &one, plan.x, x.data(), plan.w, w.data(), plan.conv[d],
                                                static_cast<cudnnConvolutionFwdAlgo_t>(a.algo), ws.get(), a.workspace,
                                                &zero, plan.y, y.data()));
  } else if (d == kBackwardData) {
    TANDEM_OP_CHECK(op, cudnnConvolutionBackwardData(h, &one, plan.w, w.data(), plan.y, y.data(), plan.conv[d],
                                                     static_cast<cudnnConvolutionBwdDataAlgo_t>(a.algo), ws.get(),
                                                     a.workspace, &zero, plan.x, x.data()));
  } else {
    TANDEM_OP_CHECK(op, cudnnConvolutionBackwardFilter(h, &one, plan.x, x.data(), plan.y, y.data(), plan.conv[d],
                                                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(a.algo), ws.get(),
                                                       a.workspace, &zero, plan.w, w.data()));
  }
}

}  // namespace

void conv2d_forward(const OpCall& c) { convolve(c, kForward, *c.in[0], *c.in[1], *c.out[0]); }
TANDEM_KERNEL(cuda_kernels, conv2d_forward, conv2d_forward);
void conv2d_backward_data(const OpCall& c) { convolve(c, kBackwardData, *c.out[0], *c.in[1], *c.in[0]); }
TANDEM_KERNEL(cuda_kernels, conv2d_backward_data, conv2d_backward_data);
void conv2d_backward_weights(const OpCall& c) { convolve(c, kBackwardWeights, *c.in[0], *c.out[0], *c.in[1]); }
TANDEM_KERNEL(cuda_kernels, conv2d_backward_weights, conv2d_backward_weights);

}  // namespace tandem::cuda
