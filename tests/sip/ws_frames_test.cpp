// SIP messages between a browser's WebSocket and the stack's bridge (sip/ws/sip_frames.hpp).
#include "sip/ws/sip_frames.hpp"

#include <gtest/gtest.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <string>

namespace icegate::sip::ws {
namespace {

// A REGISTER as JsSIP 3.13 sends it over wss (its Via host is a random .invalid name).
const std::string kRegister =
    "REGISTER sip:127.0.90.1 SIP/2.0\r\n"
    "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK3482936\r\n"
    "Max-Forwards: 69\r\n"
    "To: <sip:1001@127.0.90.1>\r\n"
    "From: <sip:1001@127.0.90.1>;tag=d1ulsp1ruk\r\n"
    "Call-ID: 3ghhu6s7i8f5ghsn7jd0dh\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:a8i4ldl6@df7jal23ls0d.invalid;transport=ws>;+sip.ice;expires=600\r\n"
    "Expires: 600\r\n"
    "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n"
    "Supported: path,gruu,outbound\r\n"
    "User-Agent: JsSIP 3.13.0\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const std::string kBody = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

std::string invite(bool with_length) {
  return "INVITE sip:5000@127.0.90.1 SIP/2.0\r\n"
         "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK1\r\n"
         "To: <sip:5000@127.0.90.1>\r\n"
         "From: <sip:1001@127.0.90.1>;tag=x\r\n"
         "Call-ID: c1\r\n"
         "CSeq: 2 INVITE\r\n"
         "Content-Type: application/sdp\r\n" +
         (with_length ? "Content-Length: " + std::to_string(kBody.size()) + "\r\n" : "") + "\r\n" +
         kBody;
}

MsgPtr parse(const std::string& text) {
  return MsgPtr(msg_make(sip_default_mclass(), 0, text.data(), static_cast<ssize_t>(text.size())));
}

TEST(WsFrames, RequestViaSaysTcpForTheStackAndKeepsEverythingElse) {
  auto out = to_stack(kRegister);
  ASSERT_TRUE(out) << out.error();
  auto msg = parse(*out);
  ASSERT_TRUE(msg);
  const sip_t* sip = sip_object(msg.get());
  ASSERT_TRUE(sip && sip->sip_request && sip->sip_via);
  EXPECT_STREQ(sip->sip_via->v_protocol, "SIP/2.0/TCP");
  EXPECT_STREQ(sip->sip_via->v_host, "df7jal23ls0d.invalid");
  EXPECT_STREQ(sip->sip_via->v_branch, "z9hG4bK3482936");
  ASSERT_TRUE(sip->sip_contact);
  EXPECT_STREQ(sip->sip_contact->m_url->url_host, "df7jal23ls0d.invalid");
  EXPECT_STREQ(sip->sip_call_id->i_id, "3ghhu6s7i8f5ghsn7jd0dh");
  EXPECT_NE(out->find("User-Agent: JsSIP 3.13.0\r\n"), std::string::npos);
  ASSERT_TRUE(sip->sip_content_length);
  EXPECT_EQ(sip->sip_content_length->l_length, 0u);
}

TEST(WsFrames, ContentLengthIsAddedWhenTheBrowserLeftItOut) {
  auto with = to_stack(invite(true));
  auto without = to_stack(invite(false));
  ASSERT_TRUE(with) << with.error();
  ASSERT_TRUE(without) << without.error();
  for (const auto* text : {&*with, &*without}) {
    auto msg = parse(*text);
    const sip_t* sip = sip_object(msg.get());
    ASSERT_TRUE(sip && sip->sip_content_length && sip->sip_payload);
    EXPECT_EQ(sip->sip_content_length->l_length, kBody.size());
    EXPECT_EQ(std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len), kBody);
  }
}

TEST(WsFrames, WhatIsNotSipIsDroppedWithAReason) {
  EXPECT_FALSE(to_stack(""));
  EXPECT_FALSE(to_stack("\r\n\r\n"));
  EXPECT_FALSE(to_stack("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(to_stack(std::string("\0\1\2garbage", 10)));
  // No CSeq.
  std::string no_cseq = kRegister;
  no_cseq.erase(no_cseq.find("CSeq: 1 REGISTER\r\n"), 18);
  const auto r = to_stack(no_cseq);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("CSeq"), std::string::npos) << r.error();
  // No Via.
  std::string no_via = kRegister;
  no_via.erase(no_via.find("Via: "), no_via.find("Max-Forwards") - no_via.find("Via: "));
  EXPECT_FALSE(to_stack(no_via));
}

TEST(WsFrames, AResponseFromTheBrowserGoesToTheStackWithItsViaUnchanged) {
  const std::string ok =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/TCP 127.0.0.1:41000;branch=z9hG4bKnta1;rport=41000\r\n"
      "To: <sip:1001@x.invalid>;tag=a\r\nFrom: <sip:icegate@127.0.0.1>;tag=b\r\n"
      "Call-ID: k1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  auto out = to_stack(ok);
  ASSERT_TRUE(out) << out.error();
  auto msg = parse(*out);
  const sip_t* sip = sip_object(msg.get());
  ASSERT_TRUE(sip && sip->sip_status && sip->sip_via);
  EXPECT_EQ(sip->sip_status->st_status, 200);
  EXPECT_STREQ(sip->sip_via->v_protocol, "SIP/2.0/TCP");
  EXPECT_STREQ(sip->sip_via->v_host, "127.0.0.1");
}

TEST(WsFrames, AResponseToTheBrowserGetsItsViaTransportAndRealAddressBack) {
  // What nta answers to the bridged REGISTER: its Via as rewritten, plus received/rport naming
  // the bridge.
  const std::string resp =
      "SIP/2.0 401 Unauthorized\r\n"
      "Via: SIP/2.0/TCP "
      "df7jal23ls0d.invalid;branch=z9hG4bK3482936;received=127.0.0.1;rport=43210\r\n"
      "To: <sip:1001@127.0.90.1>;tag=t\r\nFrom: <sip:1001@127.0.90.1>;tag=d1ulsp1ruk\r\n"
      "Call-ID: 3ghhu6s7i8f5ghsn7jd0dh\r\nCSeq: 1 REGISTER\r\n"
      "WWW-Authenticate: Digest realm=\"icegate\", nonce=\"abc\"\r\nContent-Length: 0\r\n\r\n";
  Peer peer;
  peer.address = *acl::Address::parse("192.0.2.7");
  peer.port = 50123;
  peer.transport = conf::Transport::wss;
  auto msg = parse(resp);
  auto out = to_phone(msg.get(), peer);
  ASSERT_TRUE(out) << out.error();
  auto back = parse(*out);
  const sip_t* sip = sip_object(back.get());
  ASSERT_TRUE(sip && sip->sip_via);
  EXPECT_STREQ(sip->sip_via->v_protocol, "SIP/2.0/WSS");
  EXPECT_STREQ(sip->sip_via->v_host, "df7jal23ls0d.invalid");
  EXPECT_STREQ(sip->sip_via->v_branch, "z9hG4bK3482936");
  EXPECT_STREQ(sip->sip_via->v_received, "192.0.2.7");
  EXPECT_STREQ(sip->sip_via->v_rport, "50123");
  EXPECT_EQ(out->find("127.0.0.1"), std::string::npos) << *out;
  EXPECT_NE(out->find("WWW-Authenticate: Digest realm=\"icegate\", nonce=\"abc\""),
            std::string::npos);

  peer.transport = conf::Transport::ws;
  auto msg2 = parse(resp);
  auto out2 = to_phone(msg2.get(), peer);
  ASSERT_TRUE(out2);
  EXPECT_NE(out2->find("Via: SIP/2.0/WS df7jal23ls0d.invalid"), std::string::npos) << *out2;
}

TEST(WsFrames, ARequestToTheBrowserGoesAsTheStackWroteIt) {
  const std::string bye =
      "BYE sip:a8i4ldl6@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n"
      "Via: SIP/2.0/TCP 127.0.0.1:41000;branch=z9hG4bKx;rport\r\n"
      "Max-Forwards: 70\r\nTo: <sip:1001@h>;tag=a\r\nFrom: <sip:5000@h>;tag=b\r\n"
      "Call-ID: c1\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n";
  Peer peer;
  peer.address = *acl::Address::parse("192.0.2.7");
  peer.port = 50123;
  auto msg = parse(bye);
  auto out = to_phone(msg.get(), peer);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, bye);
}

TEST(WsFrames, TheStreamIsCutIntoWholeMessagesHoweverItArrives) {
  const std::string one = invite(true);
  const std::string two = kRegister;
  const std::string stream = one + two;
  {
    StreamSplitter s;
    auto got = s.feed(stream);
    ASSERT_TRUE(got) << got.error();
    ASSERT_EQ(got->size(), 2u);
    EXPECT_STREQ(sip_object((*got)[0].get())->sip_call_id->i_id, "c1");
    EXPECT_EQ(sip_object((*got)[0].get())->sip_payload->pl_len, kBody.size());
    EXPECT_STREQ(sip_object((*got)[1].get())->sip_call_id->i_id, "3ghhu6s7i8f5ghsn7jd0dh");
  }
  {
    // A byte at a time: nothing until the last byte of each message.
    StreamSplitter s;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < stream.size(); ++i) {
      auto got = s.feed(std::string_view(stream).substr(i, 1));
      ASSERT_TRUE(got) << got.error() << " at byte " << i;
      for (auto& m : *got) {
        ids.emplace_back(sip_object(m.get())->sip_call_id->i_id);
        if (ids.size() == 1) {
          EXPECT_EQ(i, one.size() - 1);
        }
      }
    }
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], "c1");
    EXPECT_EQ(ids[1], "3ghhu6s7i8f5ghsn7jd0dh");
  }
  {
    // Split in the middle of the body, and in the middle of a header.
    StreamSplitter s;
    const std::size_t cuts[] = {17, one.size() - 5, one.size() + 40};
    std::size_t from = 0;
    std::size_t seen = 0;
    for (std::size_t cut : cuts) {
      auto got = s.feed(std::string_view(stream).substr(from, cut - from));
      ASSERT_TRUE(got);
      seen += got->size();
      from = cut;
    }
    auto last = s.feed(std::string_view(stream).substr(from));
    ASSERT_TRUE(last);
    seen += last->size();
    EXPECT_EQ(seen, 2u);
  }
}

TEST(WsFrames, AMessageOverTheLimitEndsTheStream) {
  StreamSplitter s(1024);
  std::string big = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n";
  big += "X-Pad: " + std::string(4000, 'a') + "\r\n";
  // Refused as soon as the parser sees the limit passed (now, or with the next bytes).
  auto got = s.feed(big);
  bool failed = !got;
  if (!failed) {
    auto more = s.feed(std::string(2000, 'b'));
    failed = !more;
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace icegate::sip::ws
