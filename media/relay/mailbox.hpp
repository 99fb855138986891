// A cross-thread hand-off queue with an eventfd that is readable while items are waiting.
// Commands go owner -> worker and events worker -> owner through it. The mutex is held only to
// push one item or to swap the whole queue out; no thread ever takes it per packet.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "acl/unique_fd.hpp"

namespace icegate::media::relay {

template <class T>
class Mailbox {
 public:
  Mailbox() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!fd_) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  void push(T item) {
    bool was_empty;
    {
      std::lock_guard lock(mu_);
      was_empty = items_.empty();
      items_.push_back(std::move(item));
    }
    if (was_empty) wake();
  }
  // Moves every element of `items` in and leaves it empty.
  void push_all(std::vector<T>& items) {
    if (items.empty()) return;
    bool was_empty;
    {
      std::lock_guard lock(mu_);
      was_empty = items_.empty();
      for (auto& i : items) items_.push_back(std::move(i));
    }
    items.clear();
    if (was_empty) wake();
  }
  // Takes everything queued. The eventfd is cleared first: whatever is pushed after the swap
  // finds the queue empty and signals again, so no wake-up is lost.
  std::vector<T> drain() {
    std::uint64_t n;
    [[maybe_unused]] const auto r = ::read(fd_.get(), &n, sizeof n);
    std::vector<T> out;
    std::lock_guard lock(mu_);
    out.swap(items_);
    return out;
  }
  int fd() const noexcept { return fd_.get(); }

 private:
  void wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto r = ::write(fd_.get(), &one, sizeof one);
  }

  UniqueFd fd_;
  std::mutex mu_;
  std::vector<T> items_;
};

}  // namespace icegate::media::relay
