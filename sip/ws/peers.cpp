#include "sip/ws/peers.hpp"

namespace icegate::sip::ws {

void Peers::add(std::uint16_t bridge_port, Peer peer) {
  std::lock_guard lock(mutex_);
  by_port_[bridge_port] = std::move(peer);
}

void Peers::remove(std::uint16_t bridge_port) {
  std::lock_guard lock(mutex_);
  by_port_.erase(bridge_port);
}

std::optional<Peer> Peers::find(std::uint16_t bridge_port) const {
  std::lock_guard lock(mutex_);
  auto it = by_port_.find(bridge_port);
  if (it == by_port_.end()) return std::nullopt;
  return it->second;
}

std::size_t Peers::size() const {
  std::lock_guard lock(mutex_);
  return by_port_.size();
}

}  // namespace icegate::sip::ws
