// The legal transitions of a leg's dialog and media states, in one place.
#include "sip/call/leg.hpp"

#include "sip/call/call.hpp"
#include "sip/log.hpp"

namespace icegate::sip {

std::string_view to_string(LegState s) {
  switch (s) {
    case LegState::idle:
      return "idle";
    case LegState::inviting:
      return "inviting";
    case LegState::early:
      return "early";
    case LegState::confirmed:
      return "confirmed";
    case LegState::terminating:
      return "terminating";
    case LegState::terminated:
      return "terminated";
  }
  return "?";
}

bool legal(LegState from, LegState to) {
  using S = LegState;
  if (to == S::terminated) return true;  // the stack may end a dialog at any time
  switch (from) {
    case S::idle:
      return to == S::inviting;
    // inviting/early -> idle: B's attempt failed and the next one is placed (fail-over, plain
    // RTP retry); early -> early: a further provisional response.
    case S::inviting:
    case S::early:
      return to == S::early || to == S::confirmed || to == S::terminating || to == S::idle;
    case S::confirmed:
      return to == S::terminating;
    case S::terminating:
    case S::terminated:
      return false;
  }
  return false;
}

std::string_view to_string(MediaState s) {
  switch (s) {
    case MediaState::plain:
      return "plain";
    case MediaState::waiting_ice:
      return "waiting-ice";
    case MediaState::ice_up:
      return "ice-up";
    case MediaState::secure_up:
      return "secure-up";
  }
  return "?";
}

bool legal(MediaState from, MediaState to) {
  using M = MediaState;
  switch (from) {
    case M::plain:
      return to == M::waiting_ice;  // the leg turns out to be a phone's ICE leg
    case M::waiting_ice:
      return to == M::ice_up || to == M::plain;
    case M::ice_up:
      return to == M::secure_up;
    case M::secure_up:
      return false;
  }
  return false;
}

bool Leg::to(LegState next) {
  if (next == state_) return true;
  if (!legal(state_, next)) {
    log().error("call {}: leg {}: illegal transition {} -> {} ignored", call_.id(),
                sip::to_string(side_), sip::to_string(state_), sip::to_string(next));
    return false;
  }
  log().debug("call {}: leg {} {} -> {}", call_.id(), sip::to_string(side_), sip::to_string(state_),
              sip::to_string(next));
  state_ = next;
  return true;
}

bool Leg::media_to(MediaState next) {
  if (next == media_state_) return true;
  if (!legal(media_state_, next)) {
    log().error("call {}: leg {}: illegal media transition {} -> {} ignored", call_.id(),
                sip::to_string(side_), sip::to_string(media_state_), sip::to_string(next));
    return false;
  }
  media_state_ = next;
  return true;
}

bool Leg::media_ready() const {
  switch (media_state_) {
    case MediaState::plain:
    case MediaState::secure_up:
      return true;
    case MediaState::waiting_ice:
      return false;
    case MediaState::ice_up:
      return keying != Keying::Kind::dtls;
  }
  return false;
}

}  // namespace icegate::sip
