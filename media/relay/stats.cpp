#include "media/relay/stats.hpp"

namespace icegate::media::relay {
namespace {

std::string text(const std::optional<Endpoint>& e) {
  return e ? e->to_string() : std::string("nowhere");
}

// One component: "latched 198.51.100.7:41234" / "learning: sending to 192.168.1.20:4000".
std::string component(Source s, const std::optional<Endpoint>& remote,
                      const std::optional<Endpoint>& latched) {
  switch (s) {
    case Source::latched:
      return "latched " + text(latched ? latched : remote);
    case Source::learning:
      return "learning: sending to " + text(remote) + " until a valid packet latches";
    case Source::ice:
      return remote ? "ICE path " + remote->to_string() : std::string("ICE, no path yet");
    case Source::signalled:
      break;
  }
  return "fixed " + text(remote);
}

}  // namespace

std::string describe_source(const LegStats& l) {
  std::string out = component(l.rtp_source, l.remote_rtp, l.latched_rtp);
  const bool learnt = l.rtp_source == Source::latched || l.rtp_source == Source::learning;
  if (learnt && l.signalled_rtp && l.signalled_rtp != l.remote_rtp) {
    out += " (SDP " + l.signalled_rtp->to_string() + ")";
  }
  // RTCP is worth a word only when it has a port and a state of its own.
  const bool own_rtcp = l.remote_rtcp != l.remote_rtp || l.rtcp_source != l.rtp_source;
  if (own_rtcp && l.rtcp_source != Source::ice) {
    out += ", RTCP " + component(l.rtcp_source, l.remote_rtcp, l.latched_rtcp);
  }
  return out;
}

}  // namespace icegate::media::relay
