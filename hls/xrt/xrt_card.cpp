#include "xrt_card.h"

#include <experimental/xrt_system.h>

#include <cstdlib>
#include <vector>

#include "tandem/error.h"
#include "xclbin_check.h"

namespace tandem::fpga {
namespace {

const char* state_name(ert_cmd_state s) {
  switch (s) {
    case ERT_CMD_STATE_NEW:
      return "new";
    case ERT_CMD_STATE_QUEUED:
      return "queued";
    case ERT_CMD_STATE_RUNNING:
      return "running";
    case ERT_CMD_STATE_COMPLETED:
      return "completed";
    case ERT_CMD_STATE_ERROR:
      return "error";
    case ERT_CMD_STATE_ABORT:
      return "aborted";
    case ERT_CMD_STATE_SUBMITTED:
      return "submitted";
    case ERT_CMD_STATE_TIMEOUT:
      return "timeout";
    case ERT_CMD_STATE_NORESPONSE:
      return "no response";
    default:
      return "unknown";
  }
}

// The size to ask XRT for: whole 4 KiB pages. XRT 2.13 allocates a bo's host side with
// aligned_alloc(page size, size), which C11 leaves undefined unless size is a multiple of the
// alignment: glibc accepts it, but the sanitizers' allocator returns null (XRT then writes
// through it). The card allocates whole pages anyway.
size_t whole_pages(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }

}  // namespace

void check_run_state(ert_cmd_state state, const std::string& device, const std::string& kernel,
                     std::chrono::milliseconds timeout) {
  if (state == ERT_CMD_STATE_COMPLETED) return;
  if (state == ERT_CMD_STATE_TIMEOUT)
    throw Error(ErrorKind::timeout, device, kernel,
                "kernel " + kernel + " did not finish within " + std::to_string(timeout.count()) +
                    " ms (TANDEM_XRT_TIMEOUT_MS); its run is still outstanding on the card");
  throw Error(ErrorKind::device, device, kernel,
              "kernel " + kernel + " ended in state '" + state_name(state) + "' (" +
                  std::to_string(static_cast<int>(state)) + ")");
}

unsigned XrtCard::count(std::string& why) {
  // XRT throws rather than returning 0 when it is not set up (XILINX_XRT unset, no shim).
  if (std::getenv("XILINX_XRT") == nullptr) {
    why = "XILINX_XRT is not set (source XRT's setup.sh)";
    return 0;
  }
  unsigned n = 0;
  try {
    n = ::xrt::system::enumerate_devices();
  } catch (const std::exception& e) {
    why = std::string("XRT cannot enumerate devices: ") + e.what();
    return 0;
  }
  const char* emulation = std::getenv("XCL_EMULATION_MODE");
  if (n == 0 && emulation != nullptr && *emulation != '\0') return 1;
  if (n == 0) why = "XRT finds no card";
  return n;
}

XrtCard::XrtCard(unsigned index, const std::string& xclbin_path, Manifest manifest, std::chrono::milliseconds timeout)
    : id_("fpga-xrt:" + std::to_string(index)),
      manifest_(std::move(manifest)),
      xclbin_path_(xclbin_path),
      timeout_(timeout) {
  const ::xrt::xclbin xclbin = read_xclbin(xclbin_path);
  validate_xclbin(xclbin, xclbin_path, manifest_);
  const ManifestBank& def = *manifest_.bank(manifest_.default_bank);
  default_bank_ = -1;
  for (const auto& mem : xclbin.get_mems())
    for (const std::string& tag : def.tags)
      if (mem.get_tag() == tag) default_bank_ = mem.get_index();
  if (default_bank_ < 0)
    throw Error(
        ErrorKind::invalid_argument, id_, "load xclbin",
        xclbin_path + " has no memory bank " + def.name + " (the default bank of " + manifest_.file_name() + ")");
  try {
    device_ = ::xrt::device(index);
    const ::xrt::uuid uuid = device_.load_xclbin(xclbin);
    for (const ManifestKernel& k : manifest_.kernels) kernels_.emplace(k.name, ::xrt::kernel(device_, uuid, k.name));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, id_, "load xclbin", "cannot load " + xclbin_path + ": " + e.what());
  }
}

int XrtCard::bank_of(const std::string& kernel, int arg) const {
  const auto it = kernels_.find(kernel);
  if (it == kernels_.end()) throw Error(ErrorKind::unsupported, id_, kernel, "the xclbin has no kernel " + kernel);
  return it->second.group_id(arg);
}

std::unique_ptr<XrtBuffer> XrtCard::allocate(size_t bytes) { return allocate_in(bytes, default_bank_); }

std::unique_ptr<XrtBuffer> XrtCard::allocate_in(size_t bytes, int bank) {
  // XRT rejects empty buffers.
  const size_t size = bytes == 0 ? 64 : bytes;
  try {
    ::xrt::bo bo(device_, whole_pages(size), static_cast<::xrt::memory_group>(bank));
    return std::make_unique<XrtBuffer>(std::move(bo), bank, bytes);
  } catch (const std::exception& e) {
    throw Error(
        ErrorKind::out_of_memory, id_, "allocate",
        "cannot allocate " + std::to_string(bytes) + " bytes in bank " + std::to_string(bank) + ": " + e.what());
  }
}

void XrtCard::check_range(const XrtBuffer& b, size_t offset, size_t bytes, const char* what) const {
  if (offset > b.size() || bytes > b.size() - offset)
    throw Error(ErrorKind::invalid_argument, id_, what,
                std::to_string(bytes) + " bytes at offset " + std::to_string(offset) + " run past a buffer of " +
                    std::to_string(b.size()) + " bytes");
}

void XrtCard::write(const XrtBuffer& dst, size_t offset, const void* src, size_t bytes) {
  check_range(dst, offset, bytes, "copy from host");
  if (bytes == 0) return;
  wait_for_users(dst, offset, bytes, true);
  try {
    dst.bo().write(src, bytes, offset);
    dst.bo().sync(XCL_BO_SYNC_BO_TO_DEVICE, bytes, offset);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, id_, "copy from host", e.what());
  }
}

void XrtCard::read(void* dst, const XrtBuffer& src, size_t offset, size_t bytes) {
  check_range(src, offset, bytes, "copy to host");
  if (bytes == 0) return;
  wait_for_users(src, offset, bytes, false);
  try {
    src.bo().sync(XCL_BO_SYNC_BO_FROM_DEVICE, bytes, offset);
    src.bo().read(dst, bytes, offset);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, id_, "copy to host", e.what());
  }
}

void XrtCard::fill(const XrtBuffer& dst, size_t offset, int value, size_t bytes) {
  const std::vector<unsigned char> pattern(bytes, static_cast<unsigned char>(value));
  write(dst, offset, pattern.data(), bytes);
}

void XrtCard::copy(const XrtBuffer& dst, size_t dst_offset, const XrtBuffer& src, size_t src_offset, size_t bytes) {
  check_range(dst, dst_offset, bytes, "copy on device");
  check_range(src, src_offset, bytes, "copy on device");
  if (bytes == 0) return;
  wait_for_users(src, src_offset, bytes, false);
  wait_for_users(dst, dst_offset, bytes, true);
  try {
    dst.bo().copy(src.bo(), bytes, src_offset, dst_offset);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, id_, "copy on device", e.what());
  }
}

bool XrtRun::done() const {
  const ert_cmd_state st = run_.state();
  return st != ERT_CMD_STATE_NEW && st != ERT_CMD_STATE_QUEUED && st != ERT_CMD_STATE_RUNNING &&
         st != ERT_CMD_STATE_SUBMITTED;
}

void XrtRun::wait() {
  std::lock_guard lock(mutex_);
  if (!waited_) {
    waited_ = true;
    try {
      check_run_state(run_.wait(timeout_), device_, kernel_, timeout_);
      for (Staged& s : copy_back_) s.home.copy(s.tmp, s.bytes, 0, s.offset);
    } catch (const Error& e) {
      failure_ = e.detail();
      failure_kind_ = e.kind();
    } catch (const std::exception& e) {
      failure_ = "kernel " + kernel_ + ": " + e.what();
    }
    copy_back_.clear();
  }
  if (!failure_.empty()) throw Error(failure_kind_, device_, kernel_, failure_);
}

bool XrtRun::conflicts(const XrtBuffer& b, size_t offset, size_t bytes, bool writes) const {
  for (const Use& u : uses_)
    if (u.buffer == &b && (u.written || writes) && offset < u.offset + std::max<size_t>(u.bytes, 1) &&
        u.offset < offset + std::max<size_t>(bytes, 1))
      return true;
  return false;
}

void XrtCard::wait_for_users(const XrtBuffer& b, size_t offset, size_t bytes, bool writes) {
  for (const auto& r : pending())
    if (r->conflicts(b, offset, bytes, writes)) r->wait();
}

std::vector<std::shared_ptr<XrtRun>> XrtCard::pending() {
  std::lock_guard lock(pending_mutex_);
  return pending_;
}

namespace {
// Waits for every run (so each one's staged outputs reach home), then throws the first failure.
void wait_all(const std::vector<std::shared_ptr<XrtRun>>& runs) {
  std::exception_ptr first;
  for (const auto& r : runs) {
    try {
      r->wait();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}
}  // namespace

void XrtCard::finish() {
  std::vector<std::shared_ptr<XrtRun>> runs;
  {
    std::lock_guard lock(pending_mutex_);
    runs.swap(pending_);
  }
  wait_all(runs);
}

void XrtCard::launch(const std::string& name, std::span<const KernelArg> args) { start(name, args)->wait(); }

std::shared_ptr<XrtRun> XrtCard::start(const std::string& name, std::span<const KernelArg> args) {
  const auto it = kernels_.find(name);
  if (it == kernels_.end()) throw Error(ErrorKind::unsupported, id_, name, "the xclbin has no kernel " + name);
  const ::xrt::kernel& kernel = it->second;
  // XRT copies a scalar's bytes into the register map without checking their count, so a wrong
  // width would silently shift or truncate a value: check against the (validated) manifest.
  const ManifestKernel& mk = *manifest_.kernel(name);
  if (args.size() != mk.args.size())
    throw Error(ErrorKind::invalid_argument, id_, name,
                "kernel " + name + " takes " + std::to_string(mk.args.size()) + " arguments, got " +
                    std::to_string(args.size()));
  for (const ManifestArg& ma : mk.args) {
    const KernelArg& a = args[static_cast<size_t>(ma.index)];
    const size_t want = ma.pointer() ? 0 : type_size(ma.type);
    const auto what = [](size_t bytes) {
      return bytes == 0 ? std::string("a buffer") : std::to_string(bytes) + " bytes";
    };
    if (a.value_size != want)
      throw Error(ErrorKind::invalid_argument, id_, name,
                  "kernel " + name + " argument " + std::to_string(ma.index) + " ('" + ma.name + "', " + ma.type +
                      ") takes " + what(want) + "; got " + what(a.value_size));
  }
  std::vector<XrtRun::Staged> copy_back;
  std::vector<XrtRun::Use> uses;
  for (const KernelArg& a : args)
    if (a.value_size == 0 && a.buffer_ != nullptr) uses.push_back({a.buffer_, a.offset, a.bytes, a.written});
  // In order with the pending runs it shares a buffer with (read after write, write after read
  // or write); the rest of the card's work goes on meanwhile. Completed runs leave the list once
  // waited for (their staged outputs copied home); a failure among them is reported now, naming
  // its kernel, before more work builds on it. One pass under the lock; waits outside it.
  std::vector<std::shared_ptr<XrtRun>> before;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto r = pending_.begin(); r != pending_.end();) {
      bool conflict = false;
      for (const XrtRun::Use& u : uses) conflict = conflict || (*r)->conflicts(*u.buffer, u.offset, u.bytes, u.written);
      if (conflict || (*r)->done()) {
        before.push_back(std::move(*r));
        r = pending_.erase(r);
      } else {
        ++r;
      }
    }
  }
  wait_all(before);
  try {
    ::xrt::run run(kernel);
    for (size_t i = 0; i < args.size(); ++i) {
      const KernelArg& a = args[i];
      const int index = static_cast<int>(i);
      if (a.value_size != 0) {
        run.set_arg(index, static_cast<const void*>(a.value.data()), a.value_size);
        continue;
      }
      if (a.buffer_ == nullptr)
        throw Error(ErrorKind::invalid_argument, id_, name,
                    "kernel " + name + " argument " + std::to_string(index) + " takes a buffer");
      const XrtBuffer& b = *a.buffer_;
      const size_t offset = a.offset;
      check_range(b, offset, a.bytes, name.c_str());
      const int bank = kernel.group_id(index);
      const bool whole = offset == 0 && (a.bytes == 0 || a.bytes == b.size());
      if (b.bank() == bank) {
        // A tensor that is a view into a larger buffer is passed as a sub-buffer at its offset.
        run.set_arg(index, whole ? b.bo() : ::xrt::bo(b.bo(), a.bytes, offset));
        continue;
      }
      // The buffer sits in another bank than the argument is wired to: stage it through a
      // buffer in the right bank (a device-side copy each way), and count it.
      const size_t bytes = a.bytes == 0 ? 64 : a.bytes;
      ::xrt::bo tmp(device_, whole_pages(bytes), static_cast<::xrt::memory_group>(bank));
      if (a.bytes != 0) tmp.copy(b.bo(), a.bytes, offset, 0);
      run.set_arg(index, tmp);
      if (a.written && a.bytes != 0) copy_back.push_back({tmp, b.bo(), a.bytes, offset});
      ++staged_args_;
    }
    run.start();
    auto started = std::make_shared<XrtRun>(std::move(run), name, std::move(uses), std::move(copy_back), id_, timeout_);
    std::lock_guard lock(pending_mutex_);
    pending_.push_back(started);
    return started;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, id_, name, "kernel " + name + ": " + e.what());
  }
}

}  // namespace tandem::fpga
