// RAII owners for Sofia-SIP objects. Every C handle has exactly one owner (style.md rule 8).
#pragma once

#include "sip/sofia_fwd.hpp"

#include <sofia-sip/msg.h>
#include <sofia-sip/su_alloc.h>

#include <memory>
#include <utility>

namespace icegate::sip {

struct RootDeleter {
  void operator()(su_root_t* r) const noexcept { su_root_destroy(r); }
};
using RootPtr = std::unique_ptr<su_root_t, RootDeleter>;

struct TimerDeleter {
  void operator()(su_timer_t* t) const noexcept { su_timer_destroy(t); }
};
using TimerPtr = std::unique_ptr<su_timer_t, TimerDeleter>;

// A reference to a msg_t: constructing takes a reference, destroying drops it.
class MsgRef {
 public:
  MsgRef() = default;
  explicit MsgRef(msg_t* m) : m_(m ? msg_ref_create(m) : nullptr) {}
  ~MsgRef() { reset(); }
  MsgRef(MsgRef&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  MsgRef& operator=(MsgRef&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  MsgRef(const MsgRef&) = delete;
  MsgRef& operator=(const MsgRef&) = delete;
  msg_t* get() const noexcept { return m_; }
  void reset() noexcept {
    if (m_) msg_destroy(std::exchange(m_, nullptr));
  }

 private:
  msg_t* m_ = nullptr;
};

// The application's ownership of a nua handle: destroying it releases the handle to nua
// (nua_handle_destroy), after unbinding our magic so no late event reaches a dead Leg.
class Handle {
 public:
  Handle() = default;
  explicit Handle(nua_handle_t* nh) : nh_(nh) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : nh_(std::exchange(o.nh_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      nh_ = std::exchange(o.nh_, nullptr);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  nua_handle_t* get() const noexcept { return nh_; }
  explicit operator bool() const noexcept { return nh_ != nullptr; }
  void reset() noexcept {
    if (nh_) {
      nua_handle_bind(nh_, nullptr);
      nua_handle_destroy(std::exchange(nh_, nullptr));
    }
  }

 private:
  nua_handle_t* nh_ = nullptr;
};

// A request kept to answer later (nua_save_event), e.g. an UPDATE whose answer comes from the
// other leg. Destroying it without answering lets nua release the request.
class SavedRequest {
 public:
  SavedRequest() = default;
  ~SavedRequest() { reset(); }
  SavedRequest(const SavedRequest&) = delete;
  SavedRequest& operator=(const SavedRequest&) = delete;
  // In the nua callback of the request only.
  bool save(nua_t* nua) {
    reset();
    return nua_save_event(nua, saved_) != 0 && saved_[0] != nullptr;
  }
  explicit operator bool() const noexcept { return saved_[0] != nullptr; }
  const nua_saved_event_t* get() const noexcept { return saved_; }
  void reset() noexcept {
    if (saved_[0]) nua_destroy_event(saved_);
    saved_[0] = nullptr;
  }

 private:
  nua_saved_event_t saved_[1] = {nullptr};
};

}  // namespace icegate::sip
