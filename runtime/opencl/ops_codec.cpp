// Host side of the codec primitives (kernels/codec.cl): one work-item per chunk, so each
// chunk's reduction runs in the CPU's order and results match it bit for bit.
#include "cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

size_t chunks(int64_t n, int64_t chunk) { return static_cast<size_t>((n + chunk - 1) / chunk); }

void chunk_absmax(const OpCall& c) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  Launch(c, "codec", "chunk_absmax_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<cl_long>(n)
      .scalar<cl_long>(chunk)
      .run({chunks(n, chunk)});
}

bool has_fp64(const OpCall& c) {
  cl_device_fp_config fp64 = 0;
  clGetDeviceInfo(cl_device(c).cl_device(), CL_DEVICE_DOUBLE_FP_CONFIG, sizeof(fp64), &fp64, nullptr);
  return fp64 != 0;
}

const char* quantize_unsupported(const OpCall& c) {
  if (c.param<QuantizeParams>().scale != QuantScale::norm2 || has_fp64(c)) return nullptr;
  return "norm2 scaling sums in double, which this OpenCL device lacks";
}

const char* sign_pack_unsupported(const OpCall& c) {
  return has_fp64(c) ? nullptr : "the mean |x| is summed in double, which this OpenCL device lacks";
}

void sign_pack(const OpCall& c) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  Launch(c, "codec", "sign_units_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<cl_long>(n)
      .scalar<cl_long>(chunk)
      .run({chunks(n, chunk)});
  Launch(c, "codec", "sign_bits_f32").arg(*c.in[0]).arg(*c.out[1]).scalar<cl_long>(n).run({chunks(n, 8)});
}

void sign_unpack(const OpCall& c) {
  const int64_t n = c.out[0]->numel();
  Launch(c, "codec", "sign_unpack_f32")
      .arg(*c.in[0])
      .arg(*c.in[1])
      .arg(*c.out[0])
      .scalar<cl_long>(n)
      .scalar<cl_long>(c.param<ChunkParams>().chunk)
      .run({static_cast<size_t>(n)});
}

void quantize(const OpCall& c) {
  const auto& p = c.param<QuantizeParams>();
  const int64_t n = c.in[0]->numel();
  Launch(c, "codec", "quantize_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .arg(*c.out[1])
      .scalar<cl_long>(n)
      .scalar<cl_long>(p.chunk)
      .scalar<cl_int>(p.levels)
      .scalar<cl_int>(p.scale == QuantScale::norm2)
      .scalar<cl_int>(p.stochastic)
      .scalar<cl_ulong>(p.key.seed)
      .scalar<cl_uint>(p.key.step)
      .scalar<cl_uint>(p.key.rank)
      .scalar<cl_ulong>(p.key.offset)
      .run({chunks(n, p.chunk)});
}

void dequantize(const OpCall& c) {
  const int64_t n = c.in[0]->numel();
  Launch(c, "codec", "dequantize_f32")
      .arg(*c.in[0])
      .arg(*c.in[1])
      .arg(*c.out[0])
      .scalar<cl_long>(n)
      .scalar<cl_long>(c.param<ChunkParams>().chunk)
      .run({static_cast<size_t>(n)});
}

}  // namespace

void register_codec_kernels(ClDevice& d) {
  d.register_kernel(opdesc::chunk_absmax, {chunk_absmax});
  d.register_kernel(opdesc::quantize, {quantize, quantize_unsupported});
  d.register_kernel(opdesc::dequantize, {dequantize});
  d.register_kernel(opdesc::sign_pack, {sign_pack, sign_pack_unsupported});
  d.register_kernel(opdesc::sign_unpack, {sign_unpack});
}

}  // namespace tandem::opencl
