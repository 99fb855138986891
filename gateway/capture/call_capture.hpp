// One per-call capture (docs/operations.md): a pcap file with the call's media, as the relay saw
// it (media/relay/tap.hpp: SRTP shown decrypted, ICE and DTLS as they were), and its SIP off the
// wire (sip_sniffer.hpp), both legs. Bounded in size and time.
//
// Life: `armed` (waiting for the next call of a user; SIP is already being captured so that the
// call's INVITE is in the file: the last kRingPackets SIP packets are kept until the call is
// known), `running` (the file is open), `done` (closed: the call ended, a limit was reached or
// the capture was stopped). A call that ended is still captured for kGrace, for the BYE's answer.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/capture/pcap_file.hpp"
#include "gateway/capture/sip_sniffer.hpp"
#include "media/relay/tap.hpp"

namespace icegate::gateway::capture {

// What identifies a call for a capture.
struct CallKey {
  std::string label;  // icegate's id ("c17")
  std::string from_user, to_user;
  std::string a_call_id;
  std::string b_call_id;  // B's retries append ".N"
  bool matches_call_id(std::string_view id) const;
};

struct CaptureInfo {
  std::string name;  // file name in the capture directory ("" while armed)
  std::string path;
  std::string call;  // label, once known
  std::string armed_for;  // the user or number an armed capture waits for
  std::string state;      // armed, running, done
  std::string ended_because;
  std::string sip;  // "captured", "off", or why SIP could not be captured
  FileStats file;
  std::uint64_t sip_packets = 0;
};

class CallCapture final : public media::relay::PacketTap {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kRingPackets = 256;
  static constexpr std::chrono::seconds kGrace{2};

  struct Settings {
    std::string directory;
    std::uint64_t max_bytes = 0;
    std::chrono::milliseconds max_duration{0};
    bool sip = true;
    std::vector<std::uint16_t> sip_ports;
  };

  // For a running call: the file is opened now.
  static Expected<std::shared_ptr<CallCapture>, std::string> for_call(const Settings& s,
                                                                      const CallKey& call);
  // For the next call of `user`: SIP is captured from now on (an error when it cannot be).
  static Expected<std::shared_ptr<CallCapture>, std::string> armed(const Settings& s,
                                                                   const std::string& user);
  ~CallCapture() override;

  // An armed capture's call: the file opens with the call's SIP seen so far.
  std::optional<std::string> attach(const CallKey& call);
  bool wants(const CallKey& call) const;  // armed for one of its users
  void on_packet(const media::Endpoint& from, const media::Endpoint& to,
                 std::span<const std::byte> bytes) noexcept override;
  void call_ended();
  void stop(const std::string& because);
  CaptureInfo info() const;
  bool done() const;

 private:
  explicit CallCapture(Settings s);
  std::optional<std::string> open_file(const CallKey& call);
  // SIP off the wire into on_sip, with on_tick for the limits.
  std::optional<std::string> start_sniffer();  // the reason when it cannot
  void on_sip(const timeval& ts, std::span<const std::byte> ip, std::string_view call_id);
  void on_tick();
  void close(const std::string& because);

  const Settings settings_;
  mutable std::mutex mu_;
  std::optional<CallKey> call_;  // set once running
  std::string armed_for_;
  std::unique_ptr<PcapFile> file_;
  std::string name_, path_;
  std::string sip_state_;
  std::uint64_t sip_packets_ = 0;
  std::string ended_because_;  // an armed capture stopped before its call came
  std::optional<Clock::time_point> deadline_;      // max duration
  std::optional<Clock::time_point> ended_;         // the call ended (grace)
  struct Held {
    timeval ts;
    std::string call_id;
    std::vector<std::byte> ip;
  };
  std::deque<Held> ring_;  // armed: recent SIP
  std::unique_ptr<SipSniffer> sniffer_;  // last member: its thread stops first
};

}  // namespace icegate::gateway::capture
