// Streams (in-order work queues on one device) and events (points in a stream that other
// streams or the host can wait for). Submitting work never blocks on async backends; the CPU
// backend runs each op to completion inside the call, so its events are always complete.
#pragma once

#include <chrono>
#include <memory>

#include "tandem/device.h"

namespace tandem {

class StreamImpl;
class EventImpl;

enum class WaitState { complete, timeout };

class Event {
 public:
  Event() = default;
  explicit Event(std::shared_ptr<EventImpl> impl) : impl_(std::move(impl)) {}
  /// True once all work before the event has finished (a default Event is always ready).
  bool ready() const;
  /// Blocks until complete or the timeout passes; a timeout is a state, not an exception.
  WaitState wait(std::chrono::nanoseconds timeout = std::chrono::hours(24)) const;
  EventImpl* impl() const { return impl_.get(); }

 private:
  std::shared_ptr<EventImpl> impl_;
};

class Stream {
 public:
  Stream() = default;
  /// A new stream on the device.
  explicit Stream(const Device& device);

  Device device() const { return device_; }
  /// Blocks until all work submitted so far has finished; rethrows a deferred device error.
  void synchronize();
  /// An event marking the work submitted so far.
  Event record();
  /// Work submitted after this call starts only after the event completes.
  void wait(const Event& event);
  StreamImpl* impl() const { return impl_.get(); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  Device device_;
  std::shared_ptr<StreamImpl> impl_;
};

}  // namespace tandem
