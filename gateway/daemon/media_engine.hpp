// sip::MediaPort on top of media/: ports from the allocator, an ICE-lite agent per softphone
// leg, sessions on the relay workers. Used from the signalling thread only.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "conf/config.hpp"
#include "media/dtls/certificate.hpp"
#include "media/ports/port_allocator.hpp"
#include "media/relay/relay.hpp"
#include "media/srtp/sdes.hpp"
#include "sip/media_port.hpp"

namespace icegate::gateway {

class MediaEngine final : public sip::MediaPort {
 public:
  // Throws std::runtime_error when the port range or the workers cannot be set up (start-up).
  MediaEngine(const conf::Media& cfg, const conf::Dtls& dtls);
  ~MediaEngine() override;

  Expected<sip::MediaCall, sip::MediaError> create_call(const sip::MediaCallSetup& setup) override;
  std::vector<std::string> sdes_offer(std::uint64_t call, sip::Side side) override;
  Expected<sip::SdesChoice, std::string> sdes_answer(
      std::uint64_t call, sip::Side side, const std::vector<std::string>& offered) override;
  sip::IceCredentials restart_ice(std::uint64_t call, sip::Side side) override;
  void set_remote(std::uint64_t call, sip::Side side, const sip::RemoteMedia& remote) override;
  void destroy_call(std::uint64_t call) override;
  std::string describe(std::uint64_t call) override;
  std::optional<acl::Address> public_address() override;
  void set_event_sink(std::function<void(const sip::MediaEvent&)> sink) override;
  int event_fd() const override;
  void dispatch_events() override;

  // The cached public address (STUN discovery or the static setting). Thread-safe.
  void set_public_address(std::optional<acl::Address> a);
  // Settings that may change on reload without touching running calls; a new DTLS certificate
  // (generated, or read again from the files) for the calls that start afterwards. A certificate
  // that cannot be loaded keeps the old one (logged).
  void reload(const conf::Media& cfg, const conf::Dtls& dtls);
  const media::dtls::Certificate& certificate() const { return *certificate_; }
  std::size_t active_sessions() const { return calls_.size(); }

 private:
  // What a leg's keys are now, to install new ones only when they change.
  struct LegKeys {
    std::optional<media::srtp::SdesCrypto> sdes_local;  // icegate's key in use
    std::string sdes_remote;                            // the peer's a=crypto line in use
    std::optional<sip::DtlsParams> dtls;                // the handshake's parameters
  };
  struct CallState {
    std::string label;
    bool ice[2] = {false, false};
    bool separate_rtcp[2] = {false, false};  // an RTCP port of its own (until mux is agreed)
    bool latching[2] = {false, false};       // when the leg has (or ends up with) no ICE
    std::shared_ptr<const media::dtls::Certificate> certificate;  // as the call started
    LegKeys keys[2];
    std::string history;  // ICE / pin-hole / path events, for diagnostics
  };

  conf::Media cfg_;
  conf::Dtls dtls_cfg_;
  std::shared_ptr<const media::dtls::Certificate> certificate_;
  media::ports::PortAllocator allocator_;
  media::relay::Relay relay_;
  std::map<std::uint64_t, CallState> calls_;
  std::function<void(const sip::MediaEvent&)> sink_;
  std::uint64_t next_id_ = 1;
  mutable std::mutex public_mutex_;  // the STUN thread writes, the signalling thread reads
  std::optional<acl::Address> public_address_;
};

}  // namespace icegate::gateway
