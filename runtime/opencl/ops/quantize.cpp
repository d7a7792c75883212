// Host side of the dense codec primitives (quantize.cl): one work-item per chunk, so each
// chunk's reduction runs in the CPU's order and results match it bit for bit; packing one
// work-item per byte or group of fields.
#include "../cl_device.h"
#include "tandem/ops.h"

namespace tandem::opencl {
namespace {

size_t chunks(int64_t n, int64_t chunk) { return static_cast<size_t>((n + chunk - 1) / chunk); }

// x → one value per chunk (into `out`), one work-item per chunk.
void per_chunk(const OpCall& c, const char* kernel, const Tensor& out) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  Launch(c, "quantize", kernel).arg(*c.in[0]).arg(out).scalar<cl_long>(n).scalar<cl_long>(chunk).run({chunks(n, chunk)});
}

// (values, per-chunk units) → out, one work-item per element of out.
void per_element(const OpCall& c, const char* kernel) {
  const int64_t n = c.out[0]->numel();
  Launch(c, "quantize", kernel)
      .arg(*c.in[0])
      .arg(*c.in[1])
      .arg(*c.out[0])
      .scalar<cl_long>(n)
      .scalar<cl_long>(c.param<ChunkParams>().chunk)
      .run({static_cast<size_t>(n)});
}

// in → out over n fields, one work-item per group of 8.
void bit_fields(const OpCall& c, const char* kernel, int64_t n) {
  const auto& p = c.param<BitPackParams>();
  Launch(c, "quantize", kernel)
      .arg(*c.in[0])
      .arg(*c.out[0])
      .scalar<cl_long>(n)
      .scalar<cl_int>(p.width)
      .scalar<cl_int>(p.offset)
      .run({chunks(n, 8)});
}

const char* needs_fp64(const OpCall& c) {
  return cl_device(c).fp64() ? nullptr : "it sums in double, as the CPU does, and this OpenCL device lacks cl_khr_fp64";
}

const char* quantize_unsupported(const OpCall& c) {
  return c.param<QuantizeParams>().scale == QuantScale::norm2 ? needs_fp64(c) : nullptr;
}

void sign_pack(const OpCall& c) {
  const int64_t n = c.in[0]->numel();
  per_chunk(c, "chunk_absmean_f32", *c.out[0]);
  Launch(c, "quantize", "sign_bits_f32").arg(*c.in[0]).arg(*c.out[1]).scalar<cl_long>(n).run({chunks(n, 8)});
}

void quantize(const OpCall& c) {
  const auto& p = c.param<QuantizeParams>();
  const int64_t n = c.in[0]->numel();
  Launch(c, "quantize", "quantize_f32")
      .arg(*c.in[0])
      .arg(*c.out[0])
      .arg(*c.out[1])
      .scalar<cl_long>(n)
      .scalar<cl_long>(p.chunk)
      .scalar<cl_int>(p.levels)
      .scalar<cl_int>(p.scale == QuantScale::norm2)
      .scalar<cl_int>(p.stochastic)
      .key(p.key)
      .run({chunks(n, p.chunk)});
}

}  // namespace

TANDEM_KERNEL(opencl_kernels, chunk_absmax, [](const OpCall& c) { per_chunk(c, "chunk_absmax_f32", *c.out[0]); });
TANDEM_KERNEL(opencl_kernels, chunk_norm2, [](const OpCall& c) { per_chunk(c, "chunk_norm2_f32", *c.out[0]); }, needs_fp64);
TANDEM_KERNEL(opencl_kernels, chunk_absmean, [](const OpCall& c) { per_chunk(c, "chunk_absmean_f32", *c.out[0]); }, needs_fp64);
TANDEM_KERNEL(opencl_kernels, quantize, quantize, quantize_unsupported);
TANDEM_KERNEL(opencl_kernels, dequantize, [](const OpCall& c) { per_element(c, "dequantize_f32"); });
TANDEM_KERNEL(opencl_kernels, sign_pack, sign_pack, needs_fp64);
TANDEM_KERNEL(opencl_kernels, sign_unpack, [](const OpCall& c) { per_element(c, "sign_unpack_f32"); });
TANDEM_KERNEL(opencl_kernels, pack_bits, [](const OpCall& c) { bit_fields(c, "pack_bits", c.in[0]->numel()); });
TANDEM_KERNEL(opencl_kernels, unpack_bits, [](const OpCall& c) { bit_fields(c, "unpack_bits", c.out[0]->numel()); });

}  // namespace tandem::opencl
