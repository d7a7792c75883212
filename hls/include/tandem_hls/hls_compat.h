// What the cores need from Vitis HLS, for builds without it: hls::stream as a FIFO. With Vitis
// (v++ or vitis_hls), its own headers are used and this file adds nothing. Pragmas need no
// stand-in: g++ ignores them (-Wno-unknown-pragmas on the cores).
#pragma once

#if __has_include(<hls_stream.h>)
#include <hls_stream.h>
#else
#include <cstddef>
#include <deque>
#include <stdexcept>

namespace hls {

/// A FIFO between dataflow stages. In C simulation the stages run one after another, so the
/// FIFO holds everything the producer wrote; reading an empty one is a design error (in
/// hardware it would block forever), reported as an exception.
template <class T>
class stream {
 public:
  stream() = default;
  explicit stream(const char*) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  void write(const T& v) { q_.push_back(v); }
  T read() {
    if (q_.empty()) throw std::logic_error("hls::stream read while empty: the dataflow stages disagree on counts");
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  void operator<<(const T& v) { write(v); }
  void operator>>(T& v) { v = read(); }
  bool empty() const { return q_.empty(); }
  bool full() const { return false; }
  size_t size() const { return q_.size(); }

 private:
  std::deque<T> q_;
};

}  // namespace hls
#endif
