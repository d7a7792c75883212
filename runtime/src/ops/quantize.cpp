// Dense codec primitives: per-chunk abs-max, L2 norm and mean magnitude, quantize (stochastic,
// Philox-keyed) and dequantize, sign and fixed-width bit packing. The codecs in compression/ are
// compositions of these and of the sparse and low-rank primitives.
#include "check.h"
#include "tandem/numeric/bitpack.h"
#include "tandem/ops.h"

namespace tandem {
namespace {

int64_t chunks(int64_t n, int64_t chunk) { return (n + chunk - 1) / chunk; }

// x f32 [n] (any shape, taken flat) and per-chunk f32 [⌈n/chunk⌉].
void validate_chunked(const OpCall& c, const Tensor& x, const Tensor& per_chunk, int64_t chunk) {
  if (chunk < 1) c.fail("chunk must be ≥ 1 (got " + std::to_string(chunk) + ")");
  opcheck::rank(c, per_chunk, 1);
  opcheck::dtype(c, per_chunk, DType::f32);
  opcheck::dim(c, per_chunk, 0, chunks(x.numel(), chunk), "chunk count");
}

void validate_reduce(const OpCall& c) {
  opcheck::dtype(c, *c.in[0], DType::f32);
  validate_chunked(c, *c.in[0], *c.out[0], c.param<ChunkParams>().chunk);
}

void validate_quantize(const OpCall& c) {
  const auto& p = c.param<QuantizeParams>();
  if (p.levels < 1 || p.levels > 127) c.fail("levels must be in [1, 127] (got " + std::to_string(p.levels) + ")");
  const Tensor &x = *c.in[0], &q = *c.out[1];
  opcheck::dtype(c, x, DType::f32);
  opcheck::dtype(c, q, DType::i8);
  if (q.numel() != x.numel())
    c.fail(opcheck::describe(c, x) + " and " + opcheck::describe(c, q) + ": element counts differ");
  validate_chunked(c, x, *c.out[0], p.chunk);
}

// q i8 [n] and bits u8 [packed_bytes(n, width)], whichever side is the input.
void validate_bits(const OpCall& c, const Tensor& q, const Tensor& bits) {
  const auto& p = c.param<BitPackParams>();
  if (p.width < 1 || p.width > 8) c.fail("width must be in [1, 8] (got " + std::to_string(p.width) + ")");
  if (p.offset < 0 || p.offset > 255) c.fail("offset must be in [0, 255] (got " + std::to_string(p.offset) + ")");
  opcheck::dtype(c, q, DType::i8);
  opcheck::dtype(c, bits, DType::u8);
  opcheck::rank(c, bits, 1);
  opcheck::dim(c, bits, 0, numeric::packed_bytes(q.numel(), p.width), "byte count");
}
void validate_pack(const OpCall& c) { validate_bits(c, *c.in[0], *c.out[0]); }
void validate_unpack(const OpCall& c) { validate_bits(c, *c.out[0], *c.in[0]); }

void validate_dequantize(const OpCall& c) {
  const Tensor &q = *c.in[0], &y = *c.out[0];
  opcheck::dtype(c, q, DType::i8);
  opcheck::dtype(c, y, DType::f32);
  if (q.numel() != y.numel())
    c.fail(opcheck::describe(c, q) + " and " + opcheck::describe(c, y) + ": element counts differ");
  validate_chunked(c, q, *c.in[1], c.param<ChunkParams>().chunk);
}

void validate_sign_pack(const OpCall& c) {
  const Tensor &x = *c.in[0], &bits = *c.out[1];
  validate_chunked(c, x, *c.out[0], c.param<ChunkParams>().chunk);
  opcheck::dtype(c, x, DType::f32);
  opcheck::dtype(c, bits, DType::u8);
  opcheck::rank(c, bits, 1);
  opcheck::dim(c, bits, 0, (x.numel() + 7) / 8, "byte count");
}

void validate_sign_unpack(const OpCall& c) {
  const Tensor &bits = *c.in[0], &y = *c.out[0];
  opcheck::dtype(c, bits, DType::u8);
  opcheck::dtype(c, y, DType::f32);
  opcheck::rank(c, bits, 1);
  opcheck::dim(c, bits, 0, (y.numel() + 7) / 8, "byte count");
  validate_chunked(c, y, *c.in[1], c.param<ChunkParams>().chunk);
}

OpCost cost(const OpCall& c) {
  const Tensor& big = c.in[0]->numel() >= c.out[0]->numel() ? *c.in[0] : *c.out[0];
  return {2.0 * static_cast<double>(big.numel()), opcheck::bytes_of(c)};
}

}  // namespace

const OpDesc opdesc::chunk_absmax("chunk_absmax", {"x"}, {writes("scales")}, validate_reduce, cost);
const OpDesc opdesc::chunk_norm2("chunk_norm2", {"x"}, {writes("scales")}, validate_reduce, cost);
const OpDesc opdesc::chunk_absmean("chunk_absmean", {"x"}, {writes("scales")}, validate_reduce, cost);
const OpDesc opdesc::sign_pack("sign_pack", {"x"}, {writes("unit"), writes("bits")}, validate_sign_pack, cost);
const OpDesc opdesc::sign_unpack("sign_unpack", {"bits", "unit"}, {writes("y")}, validate_sign_unpack, cost);
const OpDesc opdesc::quantize("quantize", {"x"}, {writes("unit"), writes("q")}, validate_quantize, cost);
const OpDesc opdesc::dequantize("dequantize", {"q", "unit"}, {writes("y")}, validate_dequantize, cost);
const OpDesc opdesc::pack_bits("pack_bits", {"q"}, {writes("bits")}, validate_pack, cost);
const OpDesc opdesc::unpack_bits("unpack_bits", {"bits"}, {writes("q")}, validate_unpack, cost);

void ops::chunk_absmax(Stream& s, const Tensor& x, const Tensor& scales, const ChunkParams& p) {
  dispatch(s, opdesc::chunk_absmax, {&x}, {&scales}, &p);
}
void ops::chunk_norm2(Stream& s, const Tensor& x, const Tensor& scales, const ChunkParams& p) {
  dispatch(s, opdesc::chunk_norm2, {&x}, {&scales}, &p);
}
void ops::chunk_absmean(Stream& s, const Tensor& x, const Tensor& scales, const ChunkParams& p) {
  dispatch(s, opdesc::chunk_absmean, {&x}, {&scales}, &p);
}
void ops::sign_pack(Stream& s, const Tensor& x, const Tensor& unit, const Tensor& bits, const ChunkParams& p) {
  dispatch(s, opdesc::sign_pack, {&x}, {&unit, &bits}, &p);
}
void ops::sign_unpack(Stream& s, const Tensor& bits, const Tensor& unit, const Tensor& y, const ChunkParams& p) {
  dispatch(s, opdesc::sign_unpack, {&bits, &unit}, {&y}, &p);
}
void ops::quantize(Stream& s, const Tensor& x, const Tensor& unit, const Tensor& q, const QuantizeParams& p) {
  dispatch(s, opdesc::quantize, {&x}, {&unit, &q}, &p);
}
void ops::dequantize(Stream& s, const Tensor& q, const Tensor& unit, const Tensor& y, const ChunkParams& p) {
  dispatch(s, opdesc::dequantize, {&q, &unit}, {&y}, &p);
}
void ops::pack_bits(Stream& s, const Tensor& q, const Tensor& bits, const BitPackParams& p) {
  dispatch(s, opdesc::pack_bits, {&q}, {&bits}, &p);
}
void ops::unpack_bits(Stream& s, const Tensor& bits, const Tensor& q, const BitPackParams& p) {
  dispatch(s, opdesc::unpack_bits, {&bits}, {&q}, &p);
}

}  // namespace tandem
