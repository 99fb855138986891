#include "gateway/capture/sip_sniffer.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_protos.h>

#include <cerrno>
#include <cstring>

namespace icegate::gateway::capture {
namespace {

constexpr int kSnapLength = 65535;
constexpr int kBufferBytes = 4 * 1024 * 1024;
constexpr int kTickMs = 200;

// The transport payload of an IPv4/IPv6 packet carrying UDP or TCP (no IPv6 extension headers:
// SIP does not use them); empty when it is something else or truncated.
std::span<const std::byte> transport_payload(std::span<const std::byte> ip) {
  if (ip.empty()) return {};
  const unsigned version = std::to_integer<unsigned>(ip[0]) >> 4;
  std::size_t header = 0;
  unsigned protocol = 0;
  if (version == 4 && ip.size() >= 20) {
    header = (std::to_integer<unsigned>(ip[0]) & 0x0f) * 4u;
    protocol = std::to_integer<unsigned>(ip[9]);
  } else if (version == 6 && ip.size() >= 40) {
    header = 40;
    protocol = std::to_integer<unsigned>(ip[6]);
  } else {
    return {};
  }
  if (ip.size() < header) return {};
  const auto l4 = ip.subspan(header);
  if (protocol == IPPROTO_UDP && l4.size() >= 8) return l4.subspan(8);
  if (protocol == IPPROTO_TCP && l4.size() >= 20) {
    const std::size_t offset = (std::to_integer<unsigned>(l4[12]) >> 4) * 4u;
    if (offset >= 20 && l4.size() >= offset) return l4.subspan(offset);
  }
  return {};
}

std::string filter_for(const std::vector<std::uint16_t>& ports) {
  std::string f = "(udp or tcp) and (";
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i) f += " or ";
    f += "port " + std::to_string(ports[i]);
  }
  return f + ")";
}

}  // namespace

std::string SipSniffer::call_id_of(std::span<const std::byte> ip_packet) {
  const auto payload = transport_payload(ip_packet);
  if (payload.size() < 16) return {};  // keep-alives (CRLF) and empty TCP segments
  msg_t* msg = msg_make(sip_default_mclass(), 0, payload.data(),
                        static_cast<ssize_t>(payload.size()));
  if (msg == nullptr) return {};
  std::string id;
  const sip_t* sip = sip_object(msg);
  if (sip != nullptr && sip->sip_call_id != nullptr && sip->sip_call_id->i_id != nullptr &&
      (sip->sip_request != nullptr || sip->sip_status != nullptr)) {
    id = sip->sip_call_id->i_id;
  }
  msg_destroy(msg);
  return id;
}

Expected<std::unique_ptr<SipSniffer>, std::string> SipSniffer::start(
    const std::vector<std::uint16_t>& ports, Sink sink, Tick tick) {
  if (ports.empty()) return unexpected(std::string("no SIP port to capture on"));
  char err[PCAP_ERRBUF_SIZE] = "";
  pcap_t* p = pcap_create("any", err);
  if (p == nullptr) return unexpected(std::string("libpcap: ") + err);
  const auto fail = [p](const std::string& what) {
    std::string e = what + ": " + pcap_geterr(p);
    pcap_close(p);
    return unexpected(std::move(e));
  };
  pcap_set_snaplen(p, kSnapLength);
  pcap_set_immediate_mode(p, 1);
  pcap_set_buffer_size(p, kBufferBytes);
  if (const int rc = pcap_activate(p); rc < 0) {
    std::string e = std::string(pcap_statustostr(rc)) + " (" + pcap_geterr(p) + ")";
    if (rc == PCAP_ERROR_PERM_DENIED) e += ": capturing SIP needs CAP_NET_RAW";
    pcap_close(p);
    return unexpected("libpcap: " + e);
  }
  // Linux "cooked" headers (v2 where libpcap has it) in front of the IP packet.
  pcap_set_datalink(p, DLT_LINUX_SLL2);
  const int link = pcap_datalink(p);
  if (link != DLT_LINUX_SLL2 && link != DLT_LINUX_SLL) {
    pcap_close(p);
    return unexpected("libpcap: unexpected link type " + std::to_string(link) + " on \"any\"");
  }
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter_for(ports).c_str(), 1, PCAP_NETMASK_UNKNOWN) < 0) {
    return fail("libpcap filter");
  }
  const int set = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (set < 0) return fail("libpcap filter");
  if (pcap_setnonblock(p, 1, err) < 0) {
    pcap_close(p);
    return unexpected(std::string("libpcap: ") + err);
  }
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    pcap_close(p);
    return unexpected(std::string("eventfd: ") + std::strerror(errno));
  }
  return std::unique_ptr<SipSniffer>(
      new SipSniffer(p, link, std::move(wake), std::move(sink), std::move(tick)));
}

SipSniffer::SipSniffer(pcap* p, int link_type, UniqueFd wake, Sink sink, Tick tick)
    : pcap_(p), link_type_(link_type), wake_(std::move(wake)), sink_(std::move(sink)),
      tick_(std::move(tick)) {
  thread_ = std::thread([this] { run(); });
}

SipSniffer::~SipSniffer() {
  stop();
  if (thread_.joinable()) thread_.join();
  pcap_close(pcap_);
}

void SipSniffer::stop() noexcept {
  if (stopping_.exchange(true)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_.get(), &one, sizeof one);
}

void SipSniffer::run() {
  pollfd fds[2] = {{pcap_get_selectable_fd(pcap_), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  while (!stopping_.load()) {
    const int n = ::poll(fds, 2, kTickMs);
    if (n > 0 && (fds[0].revents & POLLIN)) {
      pcap_dispatch(
          pcap_, -1,
          [](u_char* self, const pcap_pkthdr* h, const u_char* bytes) {
            reinterpret_cast<SipSniffer*>(self)->on_frame(
                h->ts, {reinterpret_cast<const std::byte*>(bytes), h->caplen});
          },
          reinterpret_cast<u_char*>(this));
    }
    pcap_stat st{};
    if (pcap_stats(pcap_, &st) == 0) drops_.store(st.ps_drop, std::memory_order_relaxed);
    if (tick_) tick_();
  }
}

void SipSniffer::on_frame(const timeval& ts, std::span<const std::byte> frame) {
  // pcap-linktype(7): LINUX_SLL2 is 20 bytes (protocol, reserved, ifindex, ARPHRD type, packet
  // type, ...), LINUX_SLL 16 (packet type, ARPHRD type, ..., protocol).
  const bool v2 = link_type_ == DLT_LINUX_SLL2;
  const std::size_t header = v2 ? 20 : 16;
  if (frame.size() <= header) return;
  // Each packet is seen once: loopback traffic only as received (checked by the capture test).
  ++seen_;
  const auto ip = frame.subspan(header);
  const std::string id = call_id_of(ip);
  if (!id.empty()) sink_(ts, ip, id);
}

}  // namespace icegate::gateway::capture
