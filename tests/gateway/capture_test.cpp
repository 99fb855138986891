// Per-call captures (gateway/capture/): the pcap file's records and limits, which Call-IDs belong
// to a call, the Call-ID of a captured SIP packet, and a capture's life without SIP. The whole
// path with a real phone is calls.baresip.phone_to_trunk.dtls.capture.
#include <pcap/pcap.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gateway/capture/call_capture.hpp"
#include "gateway/capture/pcap_file.hpp"
#include "gateway/capture/sip_sniffer.hpp"

namespace icegate::gateway::capture {
namespace {

namespace fs = std::filesystem;

media::Endpoint ep(const char* ip, std::uint16_t port) {
  return media::Endpoint{*acl::Address::parse(ip), port};
}

std::vector<std::byte> bytes(const std::string& s) {
  std::vector<std::byte> b;
  for (char c : s) b.push_back(static_cast<std::byte>(c));
  return b;
}

struct Record {
  std::vector<std::uint8_t> data;
};

std::vector<Record> read_all(const std::string& path, int* link = nullptr) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  EXPECT_NE(p, nullptr) << err;
  if (p == nullptr) return {};
  if (link) *link = pcap_datalink(p);
  std::vector<Record> out;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (pcap_next_ex(p, &h, &d) == 1) out.push_back({{d, d + h->caplen}});
  pcap_close(p);
  return out;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("icegate-capture-test-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(PcapFile, WritesUdpRecordsWithValidHeaders) {
  TempDir dir;
  const auto path = dir.file("a.pcap");
  auto f = PcapFile::create(path, 1024 * 1024);
  ASSERT_TRUE(f) << f.error();
  const auto payload = bytes("hello rtp");
  ASSERT_TRUE((*f)->write_udp(wall_clock_now(), ep("192.0.2.1", 40000), ep("198.51.100.2", 30000),
                              payload));
  ASSERT_TRUE((*f)->write_udp(wall_clock_now(), ep("2001:db8::1", 5004), ep("192.0.2.9", 6000),
                              payload));
  (*f)->close("test over");
  EXPECT_EQ((*f)->stats().packets, 2U);
  EXPECT_EQ((*f)->stats().closed_because, "test over");
  EXPECT_FALSE((*f)->write_udp(wall_clock_now(), ep("192.0.2.1", 1), ep("192.0.2.2", 2), payload));
  EXPECT_EQ((*f)->stats().refused, 1U);

  int link = 0;
  const auto records = read_all(path, &link);
  EXPECT_EQ(link, DLT_RAW);
  ASSERT_EQ(records.size(), 2U);
  const auto& v4 = records[0].data;
  ASSERT_EQ(v4.size(), 20U + 8U + payload.size());
  EXPECT_EQ(v4[0], 0x45);
  EXPECT_EQ(v4[9], 17);  // UDP
  EXPECT_EQ((v4[2] << 8) | v4[3], static_cast<int>(v4.size()));
  EXPECT_EQ(std::vector<std::uint8_t>(v4.begin() + 12, v4.begin() + 16),
            (std::vector<std::uint8_t>{192, 0, 2, 1}));
  EXPECT_EQ(std::vector<std::uint8_t>(v4.begin() + 16, v4.begin() + 20),
            (std::vector<std::uint8_t>{198, 51, 100, 2}));
  // The header checksum verifies: the one's complement sum over the header is 0xffff.
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += (v4[i] << 8) | v4[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffU);
  EXPECT_EQ((v4[20] << 8) | v4[21], 40000);
  EXPECT_EQ((v4[22] << 8) | v4[23], 30000);
  EXPECT_EQ((v4[24] << 8) | v4[25], static_cast<int>(8 + payload.size()));
  EXPECT_EQ(std::string(v4.begin() + 28, v4.end()), "hello rtp");
  // Mixed families: IPv6, the IPv4 side as ::ffff:a.b.c.d.
  const auto& v6 = records[1].data;
  ASSERT_EQ(v6.size(), 40U + 8U + payload.size());
  EXPECT_EQ(v6[0] >> 4, 6);
  EXPECT_EQ(v6[6], 17);
  EXPECT_EQ(v6[34], 0xff);
  EXPECT_EQ(v6[35], 0xff);
  EXPECT_EQ(v6[36], 192);
}

TEST(PcapFile, StopsAtItsSizeLimitAndNeverOverwrites) {
  TempDir dir;
  const auto path = dir.file("b.pcap");
  auto f = PcapFile::create(path, 1000);
  ASSERT_TRUE(f);
  const std::vector<std::byte> payload(200, std::byte{0x80});
  int written = 0;
  while ((*f)->write_udp(wall_clock_now(), ep("192.0.2.1", 1), ep("192.0.2.2", 2), payload)) {
    ++written;
  }
  // 24 bytes of file header, then 16 + 228 per record: exactly 4 fit in 1000 bytes.
  EXPECT_EQ(written, 4);
  EXPECT_FALSE((*f)->open());
  EXPECT_EQ((*f)->stats().closed_because, "size limit 0 MB reached");
  EXPECT_LE(fs::file_size(path), 1000U);
  EXPECT_EQ(fs::file_size(path), 1000U);
  EXPECT_EQ(read_all(path).size(), 4U);
  auto again = PcapFile::create(path, 1000);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().find("File exists"), std::string::npos) << again.error();
}

TEST(CallKey, MatchesBothLegsAndBsRetries) {
  CallKey k{"c7", "1001", "0049301234", "abc@phone", "5be2-c7"};
  EXPECT_TRUE(k.matches_call_id("abc@phone"));
  EXPECT_TRUE(k.matches_call_id("5be2-c7"));
  EXPECT_TRUE(k.matches_call_id("5be2-c7.2"));
  EXPECT_FALSE(k.matches_call_id("5be2-c70"));
  EXPECT_FALSE(k.matches_call_id("5be2-c7."));
  EXPECT_FALSE(k.matches_call_id("abc@phone2"));
  EXPECT_FALSE(k.matches_call_id(""));
}

std::vector<std::byte> udp_packet(const std::string& payload) {
  // A minimal IPv4 + UDP packet around `payload` (what the sniffer hands on).
  std::vector<std::byte> p(28, std::byte{0});
  p[0] = std::byte{0x45};
  p[9] = std::byte{17};
  auto body = bytes(payload);
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

TEST(SipSniffer, FindsTheCallIdOfRequestsAndResponsesOnly) {
  const std::string options =
      "OPTIONS sip:icegate@127.0.0.1 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-1\r\n"
      "From: <sip:a@127.0.0.2>;tag=1\r\nTo: <sip:icegate@127.0.0.1>\r\n"
      "Call-ID: opt-42@127.0.0.2\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
      "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(SipSniffer::call_id_of(udp_packet(options)), "opt-42@127.0.0.2");
  const std::string ok =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-1\r\n"
      "From: <sip:a@127.0.0.2>;tag=1\r\nTo: <sip:icegate@127.0.0.1>;tag=2\r\n"
      "i: compact-7\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(SipSniffer::call_id_of(udp_packet(ok)), "compact-7");
  EXPECT_EQ(SipSniffer::call_id_of(udp_packet("\r\n\r\n")), "");  // keep-alive
  EXPECT_EQ(SipSniffer::call_id_of(udp_packet(std::string(40, '\x80'))), "");  // RTP-like
  EXPECT_EQ(SipSniffer::call_id_of({}), "");
}

TEST(CallCapture, MediaOnlyCaptureEndsWithItsCall) {
  TempDir dir;
  CallCapture::Settings s{dir.path().string() + "/sub", 1024 * 1024, std::chrono::minutes(1),
                          false, {}};
  auto c = CallCapture::for_call(s, CallKey{"c3", "1001", "1002", "x/y:z", "b-c3"});
  ASSERT_TRUE(c) << c.error();
  auto info = (*c)->info();
  EXPECT_EQ(info.state, "running");
  EXPECT_EQ(info.sip, "off");
  EXPECT_EQ(info.call, "c3");
  EXPECT_NE(info.name.find("-c3-x_y_z.pcap"), std::string::npos) << info.name;  // file-safe
  EXPECT_EQ(fs::status(dir.path() / "sub").permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  const auto payload = bytes("media");
  (*c)->on_packet(ep("192.0.2.1", 1), ep("192.0.2.2", 2), payload);
  (*c)->call_ended();
  EXPECT_TRUE((*c)->done());
  info = (*c)->info();
  EXPECT_EQ(info.state, "done");
  EXPECT_EQ(info.ended_because, "call ended");
  EXPECT_EQ(info.file.packets, 1U);
  (*c)->on_packet(ep("192.0.2.1", 1), ep("192.0.2.2", 2), payload);  // after the end: ignored
  EXPECT_EQ(read_all(info.path).size(), 1U);
}

}  // namespace
}  // namespace icegate::gateway::capture
