// The dense codec primitives on their cores: chunk_absmax (tandem_chunk_absmax), quantize
// (tandem_quantize) and sign_pack (tandem_sign_pack).
#include "binding.h"
#include "cores.h"

namespace tandem::fpga {
namespace {

void bind_chunk_absmax(const OpCall& c, CoreCall& k) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  k.in(*c.in[0]).out(*c.out[0]).dim(n, "n").dim(chunk, "chunk");
  k.model([=](const CardProfile& card) { return fpga::absmax(card, n, chunk).seconds; });
}
TANDEM_CORE_KERNEL(chunk_absmax, tandem_chunk_absmax, bind_chunk_absmax);

void bind_quantize(const OpCall& c, CoreCall& k) {
  const auto& p = c.param<QuantizeParams>();
  const int64_t n = c.in[0]->numel();
  const bool norm2 = p.scale == QuantScale::norm2;
  k.in(*c.in[0]).out(*c.out[0]).out(*c.out[1]).dim(n, "n").dim(p.chunk, "chunk").arg(p.levels).arg(int{norm2});
  k.arg(int{p.stochastic}).arg(p.key.seed).arg(p.key.step).arg(p.key.rank).arg(p.key.offset);
  k.model([=, chunk = p.chunk](const CardProfile& card) { return fpga::quantize(card, n, chunk, norm2).seconds; });
}
TANDEM_CORE_KERNEL(quantize, tandem_quantize, bind_quantize);

void bind_sign_pack(const OpCall& c, CoreCall& k) {
  const int64_t n = c.in[0]->numel(), chunk = c.param<ChunkParams>().chunk;
  k.in(*c.in[0]).out(*c.out[0]).out(*c.out[1]).dim(n, "n").dim(chunk, "chunk");
  k.model([=](const CardProfile& card) { return fpga::sign_pack(card, n, chunk).seconds; });
}
TANDEM_CORE_KERNEL(sign_pack, tandem_sign_pack, bind_sign_pack);

}  // namespace
}  // namespace tandem::fpga
