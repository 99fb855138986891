// Golden offer/answer tests (rtpengine style): each capture is rewritten toward the trunk and
// toward a softphone with fixed policies and compared with tests/data/sdp/golden/. Allocated
// ports are placeholders in the golden files: {{portN}} is the port of m= section N and {{rtcpN}}
// that port + 1. Every case runs with two port sets, so a port that does not come from the
// policy cannot match.
//
// To regenerate after an intended change: ICEGATE_UPDATE_GOLDEN=1 icegate_sip_tests
// --gtest_filter='SdpGolden*', then review the diff of tests/data/sdp/golden/ line by line.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "sip/sdp/rewrite.hpp"

namespace icegate::sip::sdp {
namespace {

const std::string kDataDir = std::string(ICEGATE_SOURCE_DIR) + "/tests/data/sdp/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Description load(const std::string& name) {
  auto d = parse(read_file(kDataDir + name));
  EXPECT_TRUE(d) << name << ": " << (d ? "" : d.error().to_string());
  return d ? *d : Description{};
}

acl::Address ip(const char* text) {
  return acl::Address::parse(text).value();
}

enum class Leg { trunk, softphone };

struct GoldenCase {
  const char* golden;  // file in golden/
  const char* input;
  Leg leg;
  const char* mirror =
      nullptr;           // softphone answer: the phone offer whose mids/mux/BUNDLE are mirrored
  bool rtcp_mux = true;  // softphone offer: whether the gateway multiplexes RTCP
  bool public_address = true;
  const char* proto = "RTP/AVP";
  std::optional<Setup> dtls{};
  bool trunk_avpf = false;
};

SoftphonePolicy softphone_policy(const GoldenCase& c, const std::vector<std::uint16_t>& ports) {
  SoftphonePolicy p;
  p.media_address = ip("10.0.50.118");
  p.ports = ports;
  p.ice_ufrag = "Ig4uFrag";
  p.ice_pwd = "icegatePwd0123456789abcd";
  if (c.public_address) p.public_address = ip("203.0.113.7");
  p.rtcp_mux = c.rtcp_mux;
  p.proto = c.proto;
  if (c.dtls) {
    p.dtls = DtlsAttributes{{"sha-256",
                             "0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:"
                             "78:87:96:A5:B4:C3:D2:"
                             "E1:F0"},
                            *c.dtls};
  }
  p.origin = Origin{"icegate", "4242", "1", "IN", "IP4", "10.0.50.118"};
  if (c.mirror) mirror_offer(p, load(c.mirror));
  return p;
}

TrunkPolicy trunk_policy(const GoldenCase& c, const std::vector<std::uint16_t>& ports) {
  TrunkPolicy p;
  p.media_address = ip("192.168.101.2");
  p.ports = ports;
  if (c.trunk_avpf) {
    p.proto = "RTP/AVPF";
    p.rtcp_mux = true;
  }
  p.origin = Origin{"icegate", "4243", "1", "IN", "IP4", "192.168.101.2"};
  return p;
}

std::string substitute(std::string text, const std::vector<std::uint16_t>& ports) {
  for (std::size_t i = 0; i < ports.size(); ++i) {
    text = std::regex_replace(text, std::regex("\\{\\{port" + std::to_string(i) + "\\}\\}"),
                              std::to_string(ports[i]));
    text = std::regex_replace(text, std::regex("\\{\\{rtcp" + std::to_string(i) + "\\}\\}"),
                              std::to_string(ports[i] + 1));
  }
  return text;
}

// Inverse of substitute, for regeneration only: the port set used there appears nowhere else.
std::string placeholders(std::string text, const std::vector<std::uint16_t>& ports) {
  for (std::size_t i = 0; i < ports.size(); ++i) {
    text = std::regex_replace(text, std::regex("\\b" + std::to_string(ports[i]) + "\\b"),
                              "{{port" + std::to_string(i) + "}}");
    text = std::regex_replace(text, std::regex("\\b" + std::to_string(ports[i] + 1) + "\\b"),
                              "{{rtcp" + std::to_string(i) + "}}");
  }
  return text;
}

const std::vector<std::uint16_t> kPortsA = {30124, 30126, 30128};
const std::vector<std::uint16_t> kPortsB = {32766, 31000, 31002};

std::string rewrite(const GoldenCase& c, const std::vector<std::uint16_t>& all_ports) {
  const Description in = load(c.input);
  const std::vector<std::uint16_t> ports(all_ports.begin(),
                                         all_ports.begin() + static_cast<long>(in.media.size()));
  auto out = c.leg == Leg::trunk ? rewrite_for_trunk(in, trunk_policy(c, ports))
                                 : rewrite_for_softphone(in, softphone_policy(c, ports));
  EXPECT_TRUE(out) << (out ? "" : out.error());
  return out ? serialise(*out) : std::string();
}

class SdpGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(SdpGolden, MatchesExpectedOutput) {
  const GoldenCase& c = GetParam();
  const std::string golden_path = kDataDir + "golden/" + c.golden;
  if (std::getenv("ICEGATE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path, std::ios::binary) << placeholders(rewrite(c, kPortsA), kPortsA);
  }
  const std::string golden = read_file(golden_path);
  ASSERT_FALSE(golden.empty());
  for (const auto* ports : {&kPortsA, &kPortsB}) {
    const std::string out = rewrite(c, *ports);
    EXPECT_EQ(out, substitute(golden, *ports)) << "ports " << (*ports)[0];
    // The output is valid SDP and round-trips.
    auto again = parse(out);
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(serialise(*again), out);
  }
}

constexpr const char* kBaresipOffer = "baresip-1.0-ice-dtls-offer.sdp";
constexpr const char* kChromiumOffer = "chromium-156-offer.sdp";

INSTANTIATE_TEST_SUITE_P(
    Sdp, SdpGolden,
    ::testing::Values(
        // Phone offers and answers toward the trunk: plain RTP/AVP.
        GoldenCase{"baresip-1.0-ice-dtls-offer.to-trunk.sdp", kBaresipOffer, Leg::trunk},
        GoldenCase{"baresip-1.0-ice-dtls-answer.to-trunk.sdp", "baresip-1.0-ice-dtls-answer.sdp",
                   Leg::trunk},
        GoldenCase{"baresip-1.0-dtls-offer.to-trunk.sdp", "baresip-1.0-dtls-offer.sdp", Leg::trunk},
        GoldenCase{"linphone-5.1-ice-dtls-offer.to-trunk.sdp", "linphone-5.1-ice-dtls-offer.sdp",
                   Leg::trunk},
        GoldenCase{"chromium-156-offer.to-trunk.sdp", kChromiumOffer, Leg::trunk},
        GoldenCase{"chromium-156-offer.to-avpf-trunk.sdp", kChromiumOffer, Leg::trunk, nullptr,
                   true, true, "RTP/AVP", std::nullopt, true},
        GoldenCase{"chromium-bundle-mdns-offer.to-trunk.sdp",
                   "synthetic/chromium-bundle-mdns-offer.sdp", Leg::trunk},
        // Phone descriptions relayed to another phone (phone-to-phone call through the gateway).
        GoldenCase{"baresip-1.0-ice-dtls-offer.to-softphone.sdp", kBaresipOffer, Leg::softphone,
                   kBaresipOffer},
        GoldenCase{"baresip-1.0-ice-dtls-answer.to-softphone.sdp",
                   "baresip-1.0-ice-dtls-answer.sdp", Leg::softphone,
                   "baresip-1.0-ice-dtls-answer.sdp"},
        GoldenCase{"baresip-1.0-dtls-offer.to-softphone.sdp", "baresip-1.0-dtls-offer.sdp",
                   Leg::softphone, "baresip-1.0-dtls-offer.sdp", true, false, "UDP/TLS/RTP/SAVPF",
                   Setup::actpass},
        GoldenCase{"linphone-5.1-ice-dtls-offer.to-softphone.sdp",
                   "linphone-5.1-ice-dtls-offer.sdp", Leg::softphone,
                   "linphone-5.1-ice-dtls-offer.sdp", true, true, "UDP/TLS/RTP/SAVP",
                   Setup::actpass},
        GoldenCase{"chromium-156-offer.to-softphone.sdp", kChromiumOffer, Leg::softphone,
                   kChromiumOffer, true, true, "UDP/TLS/RTP/SAVPF", Setup::actpass},
        // ICE-lite offers to a softphone for a call from the PBX.
        GoldenCase{"pbx-offer.ice-lite-offer.sdp", "synthetic/pbx-offer.sdp", Leg::softphone,
                   nullptr, true, true, "UDP/TLS/RTP/SAVPF", Setup::actpass},
        GoldenCase{"pbx-offer.ice-lite-offer-no-mux.sdp", "synthetic/pbx-offer.sdp", Leg::softphone,
                   nullptr, false, false},
        // ICE-lite answers to a softphone's offer, built from the PBX's answer.
        GoldenCase{"pbx-answer-baresip.ice-lite-answer.sdp", "synthetic/pbx-answer-baresip.sdp",
                   Leg::softphone, kBaresipOffer},
        GoldenCase{"pbx-answer-chromium.ice-lite-answer.sdp", "synthetic/pbx-answer-chromium.sdp",
                   Leg::softphone, kChromiumOffer, true, true, "UDP/TLS/RTP/SAVPF",
                   Setup::passive}),
    [](const auto& info) {
      std::string n = info.param.golden;
      n = n.substr(0, n.size() - 4);
      for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

TEST(SdpGoldenPlaceholders, SubstituteAndInverse) {
  const std::string g =
      "m=audio {{port0}} RTP/AVP 0\r\na=candidate:1 2 udp 1 10.0.50.118 {{rtcp0}} typ host\r\n";
  const std::string out = substitute(g, {30124});
  EXPECT_EQ(out, "m=audio 30124 RTP/AVP 0\r\na=candidate:1 2 udp 1 10.0.50.118 30125 typ host\r\n");
  EXPECT_EQ(placeholders(out, {30124}), g);
}

}  // namespace
}  // namespace icegate::sip::sdp
