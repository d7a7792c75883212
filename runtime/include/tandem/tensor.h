// Buffers (bytes owned by one device) and tensors (a buffer, a shape and an element type).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "tandem/device.h"
#include "tandem/dtype.h"
#include "tandem/error.h"
#include "tandem/shape.h"

namespace tandem {

struct BufferImpl;
class DeviceBuffer;
class Stream;

/// Device memory charged to one owner (a model of the C API, say). Buffers allocated on a thread
/// while a Scope of the account is active there are charged to it until they are freed, on any
/// thread. With a limit, an allocation that would take the account past it fails with
/// Error(out_of_memory) before anything is allocated.
class MemoryAccount {
 public:
  explicit MemoryAccount(uint64_t limit_bytes = 0);  ///< 0: no limit
  uint64_t used() const;                             ///< bytes held now
  uint64_t peak() const;                             ///< the most held at once
  uint64_t limit() const;

  /// Charges the calling thread's allocations to the account while it lives (scopes nest: the
  /// innermost is charged).
  class Scope {
   public:
    explicit Scope(MemoryAccount& account);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    void* previous_;
  };

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Bytes on one device, freed when the last copy of the handle goes away.
class Buffer {
 public:
  Buffer() = default;
  /// Throws Error(out_of_memory) naming the device and the size when allocation fails.
  static Buffer allocate(const Device& device, size_t bytes);
  /// Borrows host memory as a buffer of a host-accessible device, without copying: the caller
  /// keeps the memory alive while the buffer (or a tensor on it) is in use. Ops that only read
  /// an input may be given a view of const memory this way.
  static Buffer wrap_host(const Device& device, void* data, size_t bytes);

  size_t size() const;
  Device device() const;
  /// Device address; dereferenceable by host code only when device().props().host_accessible.
  /// nullptr on devices whose memory is reached only through its handle (OpenCL, XRT).
  void* data() const;
  /// The backend's buffer object (its cl_mem, xrt::bo, CUDA pointer), for its kernels.
  const DeviceBuffer& memory() const;
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  std::shared_ptr<BufferImpl> impl_;
};

template <class T>
constexpr bool dtype_matches(DType t) {
  if constexpr (std::is_same_v<T, float>)
    return t == DType::f32;
  else if constexpr (std::is_same_v<T, int32_t>)
    return t == DType::i32;
  else if constexpr (std::is_same_v<T, int8_t>)
    return t == DType::i8;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return t == DType::u8;
  else if constexpr (std::is_same_v<T, uint16_t>)
    return t == DType::f16 || t == DType::bf16;
  else
    return false;
}

/// A contiguous, row-major view of a buffer. Copying a Tensor copies the handle, not the data.
class Tensor {
 public:
  Tensor() = default;
  /// A view of buf at offset_bytes; throws Error(invalid_argument) if it does not fit.
  Tensor(Buffer buf, Shape shape, DType dtype, size_t offset_bytes = 0);

  /// The dtype of a C++ element type. (Declared before from_vector's default argument uses it:
  /// nvcc's front end, unlike g++, looks it up at that point.)
  template <class T>
  static constexpr DType dtype_for() {
    if constexpr (std::is_same_v<T, float>)
      return DType::f32;
    else if constexpr (std::is_same_v<T, int32_t>)
      return DType::i32;
    else if constexpr (std::is_same_v<T, int8_t>)
      return DType::i8;
    else if constexpr (std::is_same_v<T, uint8_t>)
      return DType::u8;
    else if constexpr (std::is_same_v<T, uint16_t>)
      return DType::f16;
    else
      static_assert(!sizeof(T), "no DType for this element type");
  }

  /// Uninitialized tensor on a device.
  static Tensor empty(const Device& device, const Shape& shape, DType dtype = DType::f32);
  /// Tensor filled with zero bytes.
  static Tensor zeros(const Device& device, const Shape& shape, DType dtype = DType::f32);
  /// Tensor on a device holding a copy of host data (shape.numel() elements of dtype).
  static Tensor from_host(const Device& device, const Shape& shape, DType dtype, const void* data);
  template <class T>
  static Tensor from_vector(const Device& device, const Shape& shape, const std::vector<T>& v,
                            DType dtype = dtype_for<T>());

  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  Device device() const { return buf_.device(); }
  const Buffer& buffer() const { return buf_; }
  size_t offset() const { return offset_; }
  explicit operator bool() const { return static_cast<bool>(buf_); }

  /// Device address of the first element, or nullptr where the device's memory has no addresses
  /// (OpenCL, XRT: their kernels take buffer().memory() and offset()).
  void* data() const {
    void* base = buf_.data();
    return base == nullptr ? nullptr : static_cast<char*>(base) + offset_;
  }
  /// Whether the bytes of the two views intersect (views of one buffer, or of memory at
  /// overlapping addresses).
  bool overlaps(const Tensor& other) const;
  /// Whether the two are the very same view: the same bytes, from the same first byte.
  bool same_view(const Tensor& other) const;
  /// Host pointer to the elements; throws unless the device is host-accessible and T matches.
  template <class T>
  T* host_data() const;

  /// Same buffer, another shape with the same element count.
  Tensor reshape(const Shape& shape) const;

  /// Synchronous copies between this tensor and host memory (nbytes() bytes).
  void copy_from_host(const void* src) const;
  void copy_to_host(void* dst) const;
  template <class T>
  std::vector<T> to_vector() const;
  /// Elements converted to f32 (floating dtypes only).
  std::vector<float> to_f32() const;

  /// "f32[64,10] on cpu:0".
  std::string str() const;

 private:
  void check_host_access(bool ok, const char* what) const;

  Buffer buf_;
  Shape shape_;
  DType dtype_ = DType::f32;
  size_t offset_ = 0;
};

/// Copies src into dst (same dtype and element count), between any two devices; synchronous.
void copy(const Tensor& src, const Tensor& dst);

/// The same copy, ordered on a stream of src's or dst's device: after the work queued there
/// before it, and before the work queued after it. The host does not wait where the device queues
/// copies (OpenCL; elsewhere it is the synchronous copy after the stream's work). src may be
/// overwritten once the call returns; dst, when it is host memory on another device than the
/// stream's, holds the data once an event recorded on the stream after the copy is complete (a
/// stream of dst's device that waits for that event sees it).
void copy(Stream& stream, const Tensor& src, const Tensor& dst);

template <class T>
Tensor Tensor::from_vector(const Device& device, const Shape& shape, const std::vector<T>& v, DType dtype) {
  Tensor t = empty(device, shape, dtype);
  t.check_host_access(dtype_matches<T>(dtype), "element type does not match");
  t.check_host_access(static_cast<int64_t>(v.size()) == shape.numel(), "vector length does not match");
  t.copy_from_host(v.data());
  return t;
}

template <class T>
T* Tensor::host_data() const {
  check_host_access(dtype_matches<T>(dtype_), "element type does not match");
  check_host_access(device().props().host_accessible, "device memory is not host-accessible; copy it");
  return static_cast<T*>(data());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  check_host_access(dtype_matches<T>(dtype_), "element type does not match");
  std::vector<T> v(static_cast<size_t>(numel()));
  copy_to_host(v.data());
  return v;
}

/// n copies of `value` in host memory for `what` ("the calibration input"). When the host has
/// no room: Error(out_of_memory) naming it and the bytes, where std::vector would throw a bare
/// std::bad_alloc that could only say "out of memory".
template <class T>
std::vector<T> host_vector(size_t n, T value, const std::string& what) {
  try {
    return std::vector<T>(n, value);
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  throw Error(ErrorKind::out_of_memory, "host", what, "cannot allocate " + std::to_string(n) + " × " +
                                                          std::to_string(sizeof(T)) + " bytes");
}

}  // namespace tandem
