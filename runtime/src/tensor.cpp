#include "tandem/tensor.h"

#include <atomic>
#include <string>
#include <vector>

#include "tandem/backend.h"
#include "tandem/error.h"
#include "tandem/fault.h"
#include "tandem/stream.h"

namespace tandem {

struct MemoryAccount::State {
  std::atomic<uint64_t> used{0}, peak{0};
  uint64_t limit = 0;

  // Reserves n bytes, or says why not (the limit), without allocating anything.
  void reserve(uint64_t n, const std::string& device) {
    uint64_t now = used.load();
    do {
      if (limit != 0 && (n > limit || now > limit - n))
        throw Error(ErrorKind::out_of_memory, device, "allocate",
                    std::to_string(n) + " bytes more would take the memory held past its limit of " +
                        std::to_string(limit) + " bytes (" + std::to_string(now) + " held)");
    } while (!used.compare_exchange_weak(now, now + n));
    for (uint64_t p = peak.load(); now + n > p && !peak.compare_exchange_weak(p, now + n);) {
    }
  }
  void release(uint64_t n) { used.fetch_sub(n); }
};

namespace {
thread_local std::shared_ptr<MemoryAccount::State>* charged_owner = nullptr;  // the innermost Scope's account
}  // namespace

MemoryAccount::MemoryAccount(uint64_t limit_bytes) : state_(std::make_shared<State>()) { state_->limit = limit_bytes; }
uint64_t MemoryAccount::used() const { return state_->used.load(); }
uint64_t MemoryAccount::peak() const { return state_->peak.load(); }
uint64_t MemoryAccount::limit() const { return state_->limit; }

MemoryAccount::Scope::Scope(MemoryAccount& account) : previous_(charged_owner) { charged_owner = &account.state_; }
MemoryAccount::Scope::~Scope() { charged_owner = static_cast<std::shared_ptr<State>*>(previous_); }

// Owns one allocation (or borrows host memory); not copyable, so the memory is freed exactly once
// (and released from the account it was charged to, if any).
struct BufferImpl {
  BufferImpl(DeviceImpl* d, std::unique_ptr<DeviceBuffer> m, bool own = true,
             std::shared_ptr<MemoryAccount::State> a = {})
      : device(d), memory(std::move(m)), bytes(memory->size()), owned(own), account(std::move(a)) {
    if (owned) device->count_in_use(static_cast<int64_t>(bytes));
  }
  BufferImpl(const BufferImpl&) = delete;
  BufferImpl& operator=(const BufferImpl&) = delete;
  ~BufferImpl() {
    memory.reset();  // the backend frees it
    if (owned) device->count_in_use(-static_cast<int64_t>(bytes));
    if (account) account->release(bytes);
  }

  DeviceImpl* device;
  std::unique_ptr<DeviceBuffer> memory;
  size_t bytes;
  bool owned;
  std::shared_ptr<MemoryAccount::State> account;
};

Buffer Buffer::allocate(const Device& device, size_t bytes) {
  if (!device) throw Error(ErrorKind::invalid_argument, "", "allocate", "no device given");
  std::shared_ptr<MemoryAccount::State> account = charged_owner ? *charged_owner : nullptr;
  if (account) account->reserve(bytes, device.id());
  Buffer b;
  try {
    faults::point(faults::Site::alloc, device.impl()->id(), "allocate");
    b.impl_ = std::make_shared<BufferImpl>(device.impl(), device.impl()->allocate(bytes), true, account);
  } catch (...) {
    if (account) account->release(bytes);
    throw;
  }
  return b;
}

Buffer Buffer::wrap_host(const Device& device, void* data, size_t bytes) {
  if (!device) throw Error(ErrorKind::invalid_argument, "", "wrap host memory", "no device given");
  if (!device.props().host_accessible)
    throw Error(ErrorKind::invalid_argument, device.id(), "wrap host memory", "the device cannot read host memory");
  Buffer b;
  b.impl_ = std::make_shared<BufferImpl>(device.impl(), std::make_unique<DeviceBuffer>(data, bytes), false);
  return b;
}

size_t Buffer::size() const { return impl_ ? impl_->bytes : 0; }
Device Buffer::device() const { return Device(impl_ ? impl_->device : nullptr); }
void* Buffer::data() const { return impl_ ? impl_->memory->address() : nullptr; }
const DeviceBuffer& Buffer::memory() const {
  if (!impl_) throw Error(ErrorKind::invalid_argument, "", "buffer", "empty buffer");
  return *impl_->memory;
}

bool Tensor::overlaps(const Tensor& o) const {
  if (!buf_ || !o.buf_ || nbytes() == 0 || o.nbytes() == 0) return false;
  if (data() != nullptr && o.data() != nullptr) {  // addresses: wrapped host memory may coincide
    const auto* a = static_cast<const char*>(data());
    const auto* b = static_cast<const char*>(o.data());
    return a < b + o.nbytes() && b < a + nbytes();
  }
  return &buf_.memory() == &o.buf_.memory() && offset_ < o.offset_ + o.nbytes() && o.offset_ < offset_ + nbytes();
}

bool Tensor::same_view(const Tensor& o) const {
  if (!buf_ || !o.buf_ || nbytes() != o.nbytes()) return false;
  if (data() != nullptr) return data() == o.data();
  return &buf_.memory() == &o.buf_.memory() && offset_ == o.offset_;
}

Tensor::Tensor(Buffer buf, Shape shape, DType dtype, size_t offset_bytes)
    : buf_(std::move(buf)), shape_(shape), dtype_(dtype), offset_(offset_bytes) {
  if (!buf_) throw Error(ErrorKind::invalid_argument, "", "tensor", "view of an empty buffer");
  if (offset_ + nbytes() > buf_.size())
    throw Error(ErrorKind::invalid_argument, buf_.device().id(), "tensor",
                std::string(dtype_name(dtype)) + shape.str() + " at offset " + std::to_string(offset_) + " needs " +
                    std::to_string(offset_ + nbytes()) + " bytes; buffer has " + std::to_string(buf_.size()));
}

Tensor Tensor::empty(const Device& device, const Shape& shape, DType dtype) {
  const size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  return Tensor(Buffer::allocate(device, bytes), shape, dtype);
}

Tensor Tensor::zeros(const Device& device, const Shape& shape, DType dtype) {
  Tensor t = empty(device, shape, dtype);
  device.impl()->memset(t.buffer().memory(), t.offset(), 0, t.nbytes());
  return t;
}

Tensor Tensor::from_host(const Device& device, const Shape& shape, DType dtype, const void* data) {
  Tensor t = empty(device, shape, dtype);
  t.copy_from_host(data);
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel())
    throw Error(ErrorKind::invalid_argument, device().id(), "reshape",
                str() + " has " + std::to_string(numel()) + " elements; " + shape.str() + " needs " +
                    std::to_string(shape.numel()));
  return Tensor(buf_, shape, dtype_, offset_);
}

void Tensor::copy_from_host(const void* src) const {
  DeviceImpl* d = device().impl();
  faults::point(faults::Site::copy, d->id(), "copy from host");
  d->copy_from_host(buf_.memory(), offset_, src, nbytes());
}

void Tensor::copy_to_host(void* dst) const {
  DeviceImpl* d = device().impl();
  faults::point(faults::Site::copy, d->id(), "copy to host");
  d->copy_to_host(dst, buf_.memory(), offset_, nbytes());
}

std::vector<float> Tensor::to_f32() const {
  std::vector<char> raw(nbytes());
  copy_to_host(raw.data());
  std::vector<float> v(static_cast<size_t>(numel()));
  tandem::to_f32(dtype_, raw.data(), v.data(), v.size());
  return v;
}

std::string Tensor::str() const {
  if (!buf_) return "(empty tensor)";
  return std::string(dtype_name(dtype_)) + shape_.str() + " on " + device().id();
}

void Tensor::check_host_access(bool ok, const char* what) const {
  if (!buf_) throw Error(ErrorKind::invalid_argument, "", "host access", "empty tensor");
  if (!ok) throw Error(ErrorKind::invalid_argument, device().id(), "host access", std::string(what) + ": " + str());
}

namespace {
void copy_now(const Tensor& src, const Tensor& dst);

void check_copy(const Tensor& src, const Tensor& dst) {
  if (!src || !dst) throw Error(ErrorKind::invalid_argument, "", "copy", "empty tensor");
  if (src.dtype() != dst.dtype() || src.numel() != dst.numel())
    throw Error(ErrorKind::invalid_argument, dst.device().id(), "copy",
                "src " + src.str() + " and dst " + dst.str() + " differ in dtype or element count");
}
}  // namespace

void copy(Stream& stream, const Tensor& src, const Tensor& dst) {
  check_copy(src, dst);
  if (!stream) throw Error(ErrorKind::invalid_argument, "", "copy", "no stream given");
  DeviceImpl* on = stream.device().impl();
  DeviceImpl* s = src.device().impl();
  DeviceImpl* d = dst.device().impl();
  if (on != s && on != d)
    throw Error(ErrorKind::invalid_argument, on->id(), "copy",
                "the stream is on neither " + src.str() + " nor " + dst.str() + "'s device");
  faults::point(faults::Site::copy, d->id(), "copy");  // the message names the destination
  // Host memory to the stream's device, or the stream's device to host memory: queued.
  if (on == d && s != d && s->props().host_accessible &&
      stream.impl()->copy_from_host(dst.buffer().memory(), dst.offset(), src.data(), src.nbytes()))
    return;
  if (on == s && s != d && d->props().host_accessible &&
      stream.impl()->copy_to_host(dst.data(), src.buffer().memory(), src.offset(), src.nbytes()))
    return;
  stream.synchronize();
  copy_now(src, dst);
}

void copy(const Tensor& src, const Tensor& dst) {
  check_copy(src, dst);
  faults::point(faults::Site::copy, dst.device().id(), "copy");  // the message names the destination
  copy_now(src, dst);
}

namespace {
void copy_now(const Tensor& src, const Tensor& dst) {
  DeviceImpl* s = src.device().impl();
  DeviceImpl* d = dst.device().impl();
  const DeviceBuffer &from = src.buffer().memory(), &to = dst.buffer().memory();
  if (s == d) {
    d->copy_on_device(to, dst.offset(), from, src.offset(), src.nbytes());
  } else if (s->props().host_accessible) {
    d->copy_from_host(to, dst.offset(), src.data(), src.nbytes());
  } else if (d->props().host_accessible) {
    s->copy_to_host(dst.data(), from, src.offset(), src.nbytes());
  } else {  // two devices that only the host can bridge: stage through host memory
    std::vector<char> staging(src.nbytes());
    s->copy_to_host(staging.data(), from, src.offset(), src.nbytes());
    d->copy_from_host(to, dst.offset(), staging.data(), src.nbytes());
  }
}
}  // namespace

}  // namespace tandem
