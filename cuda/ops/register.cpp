// Every op of the CPU backend has a CUDA kernel; none reports `unsupported` for a valid call
// except sizes past cuBLAS/cuDNN's 32-bit dimensions and views not aligned to their element.
#include "op.h"

namespace tandem::cuda {

void register_kernels(CudaDevice& d) {
  d.register_kernel(opdesc::gemm, {gemm});
  d.register_kernel(opdesc::conv2d_forward, {conv2d_forward});
  d.register_kernel(opdesc::conv2d_backward_data, {conv2d_backward_data});
  d.register_kernel(opdesc::conv2d_backward_weights, {conv2d_backward_weights});
  d.register_kernel(opdesc::bias_add, {bias_add});
  d.register_kernel(opdesc::bias_backward, {bias_backward});
  d.register_kernel(opdesc::relu_forward, {relu_forward});
  d.register_kernel(opdesc::relu_backward, {relu_backward});
  d.register_kernel(opdesc::maxpool2d_forward, {maxpool2d_forward});
  d.register_kernel(opdesc::maxpool2d_backward, {maxpool2d_backward});
  d.register_kernel(opdesc::softmax_xent_forward, {softmax_xent_forward});
  d.register_kernel(opdesc::softmax_xent_backward, {softmax_xent_backward});
  d.register_kernel(opdesc::axpy, {axpy});
  d.register_kernel(opdesc::scale, {scale});
  d.register_kernel(opdesc::fill, {fill});
  d.register_kernel(opdesc::add, {add});
  d.register_kernel(opdesc::mul, {mul});
  d.register_kernel(opdesc::cast, {cast});
  d.register_kernel(opdesc::chunk_absmax, {chunk_absmax});
  d.register_kernel(opdesc::chunk_norm2, {chunk_norm2});
  d.register_kernel(opdesc::chunk_absmean, {chunk_absmean});
  d.register_kernel(opdesc::quantize, {quantize});
  d.register_kernel(opdesc::dequantize, {dequantize});
  d.register_kernel(opdesc::sign_pack, {sign_pack});
  d.register_kernel(opdesc::sign_unpack, {sign_unpack});
  d.register_kernel(opdesc::pack_bits, {pack_bits});
  d.register_kernel(opdesc::unpack_bits, {unpack_bits});
  d.register_kernel(opdesc::sample, {sample});
  d.register_kernel(opdesc::scatter_add, {scatter_add});
  d.register_kernel(opdesc::random_fill, {random_fill});
  d.register_kernel(opdesc::kth_magnitude, {kth_magnitude});
  d.register_kernel(opdesc::compact, {compact});
  d.register_kernel(opdesc::orthonormalize, {orthonormalize});
}

}  // namespace tandem::cuda
