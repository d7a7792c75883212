#include "tandem/stream.h"

#include "tandem/backend.h"
#include "tandem/error.h"

namespace tandem {

bool Event::ready() const { return !impl_ || impl_->ready(); }

WaitState Event::wait(std::chrono::nanoseconds timeout) const {
  if (!impl_) return WaitState::complete;
  return impl_->wait_for(timeout) ? WaitState::complete : WaitState::timeout;
}

Stream::Stream(const Device& device) : device_(device) {
  if (!device) throw Error(ErrorKind::invalid_argument, "", "stream", "no device given");
  impl_ = device.impl()->create_stream();
}

void Stream::synchronize() {
  if (impl_) impl_->synchronize();
}

Event Stream::record() { return impl_ ? Event(impl_->record()) : Event(); }

void Stream::wait(const Event& event) {
  if (impl_ && event.impl()) impl_->wait(*event.impl());
}

namespace {

class InlineEvent final : public EventImpl {
 public:
  bool ready() override { return true; }
  bool wait_for(std::chrono::nanoseconds) override { return true; }
};

class InlineStream final : public StreamImpl {
 public:
  void synchronize() override {}
  std::shared_ptr<EventImpl> record() override { return std::make_shared<InlineEvent>(); }
  void wait(EventImpl& event) override { event.wait_for(std::chrono::hours(24)); }
};

}  // namespace

std::shared_ptr<StreamImpl> make_inline_stream() { return std::make_shared<InlineStream>(); }

}  // namespace tandem
