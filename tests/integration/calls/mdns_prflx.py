#!/usr/bin/env python3
"""Offers a browser really sends: only mDNS candidates, or none yet (issue 11 item 2,
behaviour.md section 3).

ACL "cands" blacklists 127.0.85.66/32 and is the remote-candidates policy; ice-timeout is 3 s.
1. The phone's offer has one mDNS candidate and a=end-of-candidates, c=IN IP4 0.0.0.0, port 9:
   icegate answers (no 488), punches nothing (no address to punch), learns the phone's address
   from ice_phone's first authenticated check (peer-reflexive) and media flows both ways
   (ice_phone's RTP echoed by the trunk through both legs).
2. A trickle offer (a=ice-options:trickle) with no candidate at all: the same.
3. The same mDNS offer, but the phone's checks come from 127.0.85.66, which the candidate ACL
   denies: not one of them is answered (ice_phone gets nothing back at all), icegate logs the
   refused check with the ACL, and the call ends as any call whose ICE fails (BYE to both legs
   after ice-timeout), the reason in the log; its diagnosis is pattern 5 (candidate ACL).
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env, IcePhone

env = Env("mdns_prflx", net=85)
blocked = env.ip(66)
MDNS = "a=candidate:1 1 UDP 2122260223 4f2d6c1e-8b0a-4d3e-9b1c-1234567890ab.local 40000 typ host"

with env:
    env.start_icegate(env.config(acls={"cands": [("blacklist", "%s/32" % blocked)]},
                                 policy={"remote-candidates": "cands"},
                                 media_extra={"ice-timeout": "3s"}))

    def call_through(name, candidates, why, nth):
        trunk = env.trunk_uas(name="trunk-" + name)
        phone, outfile = env.phone_call("0049301234", "1001", "1001secret", name=name,
                                        candidates=candidates, c_ip="0.0.0.0", port=9)
        answer = env.wait_file(outfile)
        res = env.media_through(answer)  # ICE from 127.0.85.3:40000 and echoed RTP
        env.check(res["requests_in"] == 0,
                  "there is no candidate to punch, yet icegate sent %d request(s): %s"
                  % (res["requests_in"], env.log()))
        env.send_go(env.phone_ip, 5060, answer["call_id"])
        phone.expect_success()
        trunk.expect_success()
        env.wait_log(r"media closed: A in", count=nth)
        log = env.log()
        cid = re.findall(r"call (c\d+): the phone offered (?:[^:\n]*): its media address is learnt "
                         r"from its first authenticated ICE check \(peer-reflexive\)", log)
        env.check(len(cid) == nth, "the log must say the address is learnt from the first check")
        env.check(re.search(r"call %s: the phone offered %s: its media" % (cid[-1], re.escape(why)),
                            log), "the log must say why: %s" % why)
        env.check(re.search(r"call %s: ICE connected on A \(%s:40000" % (cid[-1],
                                                                        re.escape(env.phone_ip)),
                            log), "ICE must connect through the peer-reflexive address")
        closed = env.media_closed()
        env.check(len(closed) == nth and closed[-1][0] >= 20 and closed[-1][1] >= 20,
                  "media counters must show packets in on both legs: %s" % closed)
        return cid[-1]

    # 1. Only an mDNS name (Chromium without microphone permission), gathering complete.
    cid = call_through("mdns", [MDNS, "a=end-of-candidates"], "only candidates it cannot send to",
                       1)
    env.check(re.search(r'call %s: dropped remote candidates: candidate "1 1 UDP 2122260223 '
                        r'4f2d6c1e-[^"]*\.local 40000 typ host" not an IP address: mDNS name'
                        % cid, env.log()), "the mDNS candidate must still be named in the log")

    # 2. A trickle offer without any candidate.
    call_through("trickle", ["a=ice-options:trickle"], "no candidates yet (trickle ICE)", 2)

    # 3. The peer-reflexive address is one the candidate ACL denies.
    trunk = env.trunk_uas(name="trunk-blocked")
    out = os.path.join(env.work, "blocked-answer.txt")
    phone = env.sipp_run("blocked", "phone_call_hungup.xml", env.phone_ip, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "0049301234", "-au", "1001", "-ap", "1001secret",
                                "-key", "from_user", "1001", "-key", "outfile", out]
                         + env.phone_keys(port=9, candidates=[MDNS], c_ip="0.0.0.0"))
    answer = env.wait_file(out)
    ice = IcePhone(env, [env.ice_phone_bin, "--local", "%s:40000" % blocked,
                         "--remote", "%s:%s" % (answer["addr"], answer["port"]),
                         "--remote-ufrag", answer["ufrag"], "--remote-pwd", answer["pwd"],
                         "--local-ufrag", "phoneufrag", "--local-pwd", "phonepassword0123456789",
                         "--packets", "10", "--min-rtp", "1", "--ice-timeout-ms", "2500"])
    ice.wait_ready()
    rc, res = ice.result()
    env.note("ice_phone (blocked): " + ice.summary)
    env.check(rc == 1, "ICE from a denied address must fail (exit 1), got %d: %s" % (rc, ice.summary))
    env.check(res["checks_sent"] >= 2, "ice_phone must have kept checking: %s" % ice.summary)
    env.check(res["check_success"] == 0 and res["check_errors"] == 0 and
              res["responses_unauthenticated"] == 0 and res["requests_in"] == 0 and
              res["rtp_received"] == 0 and res["other_in"] == 0,
              "icegate must send nothing at all to the denied address: %s" % ice.summary)
    phone.expect_success()  # icegate's BYE after ice-timeout
    trunk.expect_success()  # icegate's BYE
    env.wait_log(r'call (c\d+): leg A ICE check from %s:40000 not answered: rejected by acl "cands" '
                 r'\(blacklist %s/32' % (re.escape(blocked), re.escape(blocked)))
    env.wait_log(r'call c\d+: ICE did not succeed on A within 3000 ms: no valid binding request '
                 r'arrived \([^\n]*ICE check from %s:40000 not answered: rejected by acl "cands"'
                 % re.escape(blocked))
    env.wait_log(r"media closed: A in", count=3)
    # The call's verdict is behaviour.md section 9 pattern 5, naming the refused source.
    env.wait_log(r'call c\d+: diagnosis: pattern 5 \(candidate ACL\): leg A \(phone with ICE\): the '
                 r'phone.s checks were not answered: check from %s:40000 \(peer-reflexive\) '
                 r'rejected by acl "cands"' % re.escape(blocked))
    log = env.log()
    env.check(len(re.findall(r"call c\d+: leg A ICE check from %s:40000 not answered"
                             % re.escape(blocked), log)) == 1,
              "the refused check is logged once, its retransmissions only counted")
    env.check(len(re.findall(r"ICE connected on A", log)) == 2,
              "only the two calls from the allowed address may connect")
