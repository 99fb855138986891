// An immutable array of trivially copyable values, placed in transparent huge pages when large.
// Internal to the ACL engine.
//
// Why: a million-entry ACL index is tens of megabytes read at random. In 4 KiB pages nearly every
// lookup step is also a TLB miss, and under virtualisation (nested paging) a page walk costs
// several more memory accesses: measured, it tripled the lookup time. 2 MiB pages let the TLB
// cover the whole index. With THP disabled the advice is ignored and only speed suffers.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace icegate::acl::detail {

template <class T>
class FrozenArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  FrozenArray() = default;
  explicit FrozenArray(const std::vector<T>& v) : size_(v.size()) {
    if (v.empty()) return;
    data_ = Buffer(allocate(bytes_for(size_)), Free{bytes_for(size_)});
    std::memcpy(data_.get(), v.data(), v.size() * sizeof(T));
  }

  FrozenArray(FrozenArray&& o) noexcept
      : data_(std::move(o.data_)), size_(std::exchange(o.size_, 0)) {}
  FrozenArray& operator=(FrozenArray&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }

  const T& operator[](std::size_t i) const noexcept { return data_.get()[i]; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Bytes reserved, including the rounding up to whole huge pages.
  std::size_t memory_bytes() const noexcept { return size_ == 0 ? 0 : bytes_for(size_); }

 private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  // Below this, rounding up to a huge page would waste more than it saves.
  static constexpr std::size_t kHugeThreshold = 2 * kHugePage;
  static constexpr std::size_t kAlign = alignof(T) < alignof(void*) ? alignof(void*) : alignof(T);

  static std::size_t bytes_for(std::size_t n) {
    const std::size_t raw = n * sizeof(T);
    if (raw >= kHugeThreshold) return (raw + kHugePage - 1) / kHugePage * kHugePage;
    return (raw + kAlign - 1) / kAlign * kAlign;
  }

  static T* allocate(std::size_t bytes) {
    if (bytes < kHugeThreshold) {
      return static_cast<T*>(::operator new(bytes, std::align_val_t(kAlign)));
    }
    void* p = std::aligned_alloc(kHugePage, bytes);
    if (p == nullptr) throw std::bad_alloc();
    // Advice only: failure (THP disabled, old kernel) leaves ordinary pages.
    (void)::madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }

  struct Free {
    std::size_t bytes = 0;
    void operator()(T* p) const noexcept {
      if (bytes < kHugeThreshold) {
        ::operator delete(p, std::align_val_t(kAlign));
      } else {
        std::free(p);
      }
    }
  };
  using Buffer = std::unique_ptr<T, Free>;

  Buffer data_;
  std::size_t size_ = 0;
};

}  // namespace icegate::acl::detail
