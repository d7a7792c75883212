// GradientCodec: each codec as a sequence of device ops writing straight into the message.
#include "tandem/compression/codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "layout.h"
#include "payload_check.h"
#include "tandem/numeric/bitpack.h"
#include "tandem/error.h"
#include "tandem/ops.h"

namespace tandem::compression {

// Device memory reused between calls: grown when too small, replaced when on another device.
struct GradientCodec::Workspace {
  Buffer message;             // header + payload, laid out as on the wire
  std::vector<uint8_t> host;  // the message, when the device's memory is not host-accessible
  Buffer received;            // a received payload, when it cannot be read in place
  std::vector<Buffer> slots;  // scratch tensors
  Tensor q;                   // PowerSGD's warm-started Q

  static void ensure(Buffer& b, const Device& d, size_t bytes) {
    if (!b || b.device() != d || b.size() < bytes) b = Buffer::allocate(d, std::max<size_t>(bytes, 64));
  }
  Tensor slot(size_t i, const Device& d, const Shape& shape, DType t) {
    if (slots.size() <= i) slots.resize(i + 1);
    ensure(slots[i], d, static_cast<size_t>(shape.numel()) * dtype_size(t));
    return Tensor(slots[i], shape, t);
  }
};

namespace {

// A payload inside a buffer: where it starts (after the wire header, or in a gathered buffer).
struct Payload {
  Buffer buf;
  size_t base;
};

// A view of part of a payload.
Tensor at(const Payload& p, uint64_t offset, const Shape& shape, DType t) {
  return Tensor(p.buf, shape, t, p.base + static_cast<size_t>(offset));
}

// Gathered payloads are laid end to end at multiples of 8 bytes, so their f32 parts stay aligned.
size_t padded(uint64_t bytes) { return static_cast<size_t>((bytes + 7) / 8 * 8); }

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

GradientCodec::GradientCodec(CodecSpec spec) : spec_(spec), ws_(std::make_unique<Workspace>()) {
  codec_traits(spec.codec);  // rejects an unknown codec now rather than at the first step
}
GradientCodec::~GradientCodec() = default;
GradientCodec::GradientCodec(GradientCodec&&) noexcept = default;
GradientCodec& GradientCodec::operator=(GradientCodec&&) noexcept = default;

std::span<const uint8_t> GradientCodec::compress(Stream& st, const Tensor& grad, const RandomKey& key) {
  const Tensor payload = encode(st, grad, key);
  st.synchronize();
  WireHeader h = header_for(spec_, grad.shape());
  if (spec_.codec == Codec::topk_sampled) h.params[1] = static_cast<uint32_t>(payload.numel() / 8);
  const size_t size = wire_header_bytes + static_cast<size_t>(payload.numel());
  std::span<uint8_t> out;
  if (st.device().props().host_accessible) {
    out = {static_cast<uint8_t*>(ws_->message.data()), size};
  } else {
    ws_->host.resize(size);
    payload.copy_to_host(ws_->host.data() + wire_header_bytes);
    out = ws_->host;
  }
  seal_wire(h, out);
  return out;
}

Tensor GradientCodec::encode(Stream& st, const Tensor& grad, const RandomKey& key) {
  const std::string op = "compress " + codec_string(spec_);
  if (!grad) bad(op, "no gradient given");
  if (grad.dtype() != DType::f32) bad(op, "gradient " + grad.str() + " is not f32");
  const Device d = st.device();
  const int64_t n = grad.numel();
  const Tensor x = grad.reshape({n});
  WireHeader h = header_for(spec_, grad.shape());
  Layout L = layout_of(h, op);
  Workspace& w = *ws_;

  Tensor sel_idx, sel_val;  // topk_sampled: the selection, whose size decides the layout
  if (spec_.codec == Codec::topk_sampled) {
    // DGC: the threshold is the k-th magnitude of a stratified sample, where about 400 samples
    // land above it (count error ~5%); one compaction pass then takes everything above it.
    const int64_t k = i64(L.pairs);
    const double ratio = static_cast<double>(spec_.params[0]) / 1e6;
    const int64_t samples = std::min<int64_t>(n, std::max<int64_t>(4096, static_cast<int64_t>(400 / ratio)));
    const Tensor si = w.slot(0, d, {samples}, DType::i32), sv = w.slot(1, d, {samples}, DType::f32);
    const Tensor t = w.slot(2, d, {1}, DType::f32), count = w.slot(3, d, {1}, DType::i32);
    ops::sample(st, x, si, sv, {key, false});
    const int64_t ks = std::clamp<int64_t>(std::llround(ratio * static_cast<double>(samples)), 1, samples);
    ops::kth_magnitude(st, sv, t, {ks});
    int64_t cap = std::min<int64_t>(n, 2 * k + 1024);
    for (;;) {
      sel_idx = w.slot(4, d, {cap}, DType::i32);
      sel_val = w.slot(5, d, {cap}, DType::f32);
      ops::compact(st, x, t, sel_idx, sel_val, count, {k});
      st.synchronize();
      int32_t m = 0;
      count.copy_to_host(&m);
      if (m <= cap) {
        h.params[1] = static_cast<uint32_t>(m);
        L = layout_of(h, op);
        break;
      }
      cap = m;
    }
  }

  Workspace::ensure(w.message, d, wire_header_bytes + padded(L.bytes));
  const Payload msg{w.message, wire_header_bytes};
  switch (spec_.codec) {
    case Codec::none:
      ops::cast(st, x, at(msg, 0, {n}, DType::f32));
      break;
    case Codec::fp16:
    case Codec::bf16:
      ops::cast(st, x, at(msg, 0, {n}, spec_.codec == Codec::fp16 ? DType::f16 : DType::bf16));
      break;
    case Codec::int8:
    case Codec::qsgd:
    case Codec::terngrad: {
      const Tensor unit = at(msg, 0, {i64(L.chunks)}, DType::f32);
      const bool raw = L.width == 8;
      const Tensor q = raw ? at(msg, L.levels_at(), {n}, DType::i8) : w.slot(0, d, {n}, DType::i8);
      const QuantScale scale = spec_.codec == Codec::qsgd ? QuantScale::norm2 : QuantScale::absmax;
      ops::quantize(st, x, unit, q, {L.chunk, L.levels, scale, spec_.codec != Codec::int8, key});
      if (!raw)
        ops::pack_bits(st, q, at(msg, L.levels_at(), {numeric::packed_bytes(n, L.width)}, DType::u8), {L.width, L.levels});
      break;
    }
    case Codec::sign:
      ops::sign_pack(st, x, at(msg, 0, {i64(L.chunks)}, DType::f32), at(msg, L.levels_at(), {(n + 7) / 8}, DType::u8),
                     {L.chunk});
      break;
    case Codec::randomk:
      ops::sample(st, x, at(msg, 0, {i64(L.pairs)}, DType::i32), at(msg, L.values_at(), {i64(L.pairs)}, DType::f32),
                  {key, true});
      break;
    case Codec::topk: {
      const Tensor t = w.slot(2, d, {1}, DType::f32), count = w.slot(3, d, {1}, DType::i32);
      const int64_t k = i64(L.pairs);
      ops::kth_magnitude(st, x, t, {k});
      // Ties at the threshold are taken in index order up to k: exactly k pairs.
      ops::compact(st, x, t, at(msg, 0, {k}, DType::i32), at(msg, L.values_at(), {k}, DType::f32), count, {k});
      break;
    }
    case Codec::topk_sampled: {
      const int64_t m = i64(L.pairs);
      if (m > 0) {
        ops::cast(st, Tensor(sel_idx.buffer(), {m}, DType::i32), at(msg, 0, {m}, DType::i32));
        ops::cast(st, Tensor(sel_val.buffer(), {m}, DType::f32), at(msg, L.values_at(), {m}, DType::f32));
      }
      break;
    }
    case Codec::powersgd: {
      const int64_t rows = i64(L.rows), cols = i64(L.cols), r = i64(L.rank);
      const Tensor P = at(msg, 0, {rows, r}, DType::f32), Q = at(msg, L.q_at(), {cols, r}, DType::f32);
      lowrank_p(st, grad, key, P);
      lowrank_q(st, grad, P, Q);
      restore_state(st, Q);  // one rank: its own Q is the warm start
      break;
    }
  }
  return at(msg, 0, {i64(L.bytes)}, DType::u8);
}

void GradientCodec::decompress(Stream& st, std::span<const uint8_t> message, const Tensor& out, bool accumulate) {
  const CheckedMessage checked = check_message(message);
  const WireMessage& m = checked.wire;
  const Layout& L = checked.layout;
  if (!out || out.dtype() != DType::f32 || static_cast<uint64_t>(out.numel()) != L.n)
    bad(checked.op, "message holds " + std::to_string(L.n) + " elements; the output is " + (out ? out.str() : "empty"));

  // The payload, where the device can read it: in place when the device reads host memory and
  // the message is aligned for f32, else uploaded once.
  const Device d = st.device();
  Workspace& w = *ws_;
  Buffer msg;
  if (d.props().host_accessible && reinterpret_cast<uintptr_t>(message.data()) % 4 == 0) {
    // Ops only read this buffer: the const_cast never leads to a write.
    msg = Buffer::wrap_host(d, const_cast<uint8_t*>(message.data()), message.size());
  } else {
    Workspace::ensure(w.received, d, message.size());
    Tensor(w.received, {i64(message.size())}, DType::u8).copy_from_host(message.data());
    msg = w.received;
  }
  decode_payload(st, m.header.codec, L, msg, wire_header_bytes, out, accumulate);
  // The borrowed message must outlive the ops that read it.
  st.synchronize();
}

void GradientCodec::decode(Stream& st, const Tensor& payload, const Tensor& out, bool accumulate) {
  const std::string op = "decode " + codec_string(spec_);
  if (!payload || payload.dtype() != DType::u8 || !(payload.device() == st.device()))
    bad(op, "the payload must be a u8 tensor on the stream's device " + st.device().id());
  if (!out || out.dtype() != DType::f32) bad(op, "the output must be an f32 tensor");
  WireHeader h = header_for(spec_, out.shape());
  if (spec_.codec == Codec::topk_sampled) {
    if (payload.numel() % 8 != 0) bad(op, "a sparse payload holds 8-byte pairs, not " + payload.str());
    h.params[1] = static_cast<uint32_t>(payload.numel() / 8);
  }
  const Layout L = layout_of(h, op);
  if (L.bytes != static_cast<uint64_t>(payload.numel()))
    bad(op, "payload " + payload.str() + " is not the " + std::to_string(L.bytes) + " bytes this codec makes of " +
                out.str());
  if (payload.offset() % 4 != 0) bad(op, "the payload must start at a multiple of 4 bytes (its f32 scales)");
  decode_payload(st, spec_.codec, L, payload.buffer(), payload.offset(), out, accumulate);
}

void GradientCodec::decode_payload(Stream& st, Codec codec, const Layout& L, const Buffer& buf, size_t base,
                                   const Tensor& out, bool accumulate) {
  const Payload msg{buf, base};
  const Device d = st.device();
  Workspace& w = *ws_;
  const int64_t n = out.numel();
  const Tensor y = out.reshape({n});
  // Dense codecs decode into scratch when adding; sparse and low-rank ones add directly.
  const Tensor dst = accumulate ? w.slot(1, d, {n}, DType::f32) : y;
  switch (codec) {
    case Codec::none:
      ops::cast(st, at(msg, 0, {n}, DType::f32), dst);
      break;
    case Codec::fp16:
    case Codec::bf16:
      ops::cast(st, at(msg, 0, {n}, codec == Codec::fp16 ? DType::f16 : DType::bf16), dst);
      break;
    case Codec::int8:
    case Codec::qsgd:
    case Codec::terngrad: {
      const Tensor unit = at(msg, 0, {i64(L.chunks)}, DType::f32);
      Tensor q;
      if (L.width == 8) {
        q = at(msg, L.levels_at(), {n}, DType::i8);
      } else {
        q = w.slot(0, d, {n}, DType::i8);
        ops::unpack_bits(st, at(msg, L.levels_at(), {numeric::packed_bytes(n, L.width)}, DType::u8), q, {L.width, L.levels});
      }
      ops::dequantize(st, q, unit, dst, {L.chunk});
      break;
    }
    case Codec::sign:
      ops::sign_unpack(st, at(msg, L.levels_at(), {(n + 7) / 8}, DType::u8), at(msg, 0, {i64(L.chunks)}, DType::f32),
                       dst, {L.chunk});
      break;
    case Codec::randomk:
    case Codec::topk:
    case Codec::topk_sampled: {
      if (!accumulate) ops::fill(st, y, 0.0f);
      const int64_t k = i64(L.pairs);
      if (k > 0) ops::scatter_add(st, at(msg, 0, {k}, DType::i32), at(msg, L.values_at(), {k}, DType::f32), y);
      break;
    }
    case Codec::powersgd: {
      const int64_t rows = i64(L.rows), cols = i64(L.cols), r = i64(L.rank);
      ops::gemm(st, at(msg, 0, {rows, r}, DType::f32), at(msg, L.q_at(), {cols, r}, DType::f32),
                y.reshape({rows, cols}), {false, true, 1.0f, accumulate ? 1.0f : 0.0f});
      break;
    }
  }
  if (accumulate && codec_traits(codec).payload != PayloadKind::sparse && codec != Codec::powersgd)
    ops::axpy(st, 1.0f, dst, y);
}

Tensor GradientCodec::state() const { return ws_->q; }

void GradientCodec::restore_state(Stream& s, const Tensor& q) {
  if (spec_.codec != Codec::powersgd) bad("restore codec state", codec_string(spec_) + " keeps no state");
  if (!q || q.dtype() != DType::f32 || q.shape().rank() != 2)
    bad("restore codec state", "PowerSGD's Q must be f32 [cols, rank], got " + (q ? q.str() : "empty"));
  Tensor& state = ws_->q;
  if (!state || state.device() != s.device() || !(state.shape() == q.shape()))
    state = Tensor::empty(s.device(), q.shape());
  ops::cast(s, q, state);
}

LowRankShape GradientCodec::lowrank_shape(const Shape& shape) const {
  if (spec_.codec != Codec::powersgd) bad("powersgd", codec_string(spec_) + " is not PowerSGD");
  const Layout L = layout_of(header_for(spec_, shape), "powersgd");
  return {static_cast<int64_t>(L.rows), static_cast<int64_t>(L.cols), static_cast<int64_t>(L.rank)};
}

void GradientCodec::lowrank_p(Stream& st, const Tensor& grad, const RandomKey& key, const Tensor& p) {
  const LowRankShape m = lowrank_shape(grad.shape());
  Tensor& q = ws_->q;
  if (!q || q.device() != st.device() || !(q.shape() == Shape{m.cols, m.rank})) {
    // Every rank starts from the same Q: the key's step and rank do not enter it.
    q = Tensor::empty(st.device(), {m.cols, m.rank});
    ops::random_fill(st, q, {{key.seed, 0, 0, key.offset}, -1.0f, 1.0f});
  }
  ops::gemm(st, grad.reshape({m.rows, m.cols}), q, p);  // P = M·Q
}

void GradientCodec::lowrank_q(Stream& st, const Tensor& grad, const Tensor& p, const Tensor& q) {
  const LowRankShape m = lowrank_shape(grad.shape());
  ops::orthonormalize(st, p);
  ops::gemm(st, grad.reshape({m.rows, m.cols}), p, q, {true, false});  // Q = Mᵀ·P̂: P̂·Qᵀ = P̂·P̂ᵀ·M
}

}  // namespace tandem::compression
