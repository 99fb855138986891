#!/usr/bin/env python3
"""The candidate ACL on a softphone's offer (behaviour.md sections 3, 6, 9 pattern 5).

ACL "cands" blacklists 127.0.44.66/32 and is the remote-candidates policy.
1. An offer whose only candidate (and c=) is 127.0.44.66 gets 488 Not Acceptable Here, and the
   log names the candidate and the ACL.
2. An offer with a blocked first candidate, a TCP one and an mDNS one before the good one: the
   call works through the good candidate, the log names each dropped candidate (the blocked one
   with the ACL), and nothing at all — no pin-hole request, no RTP — is sent to the blocked
   address.
3. A called phone answering a=ice-mismatch: the trunk's call fails at once (480), the log says why.
"""
import os
import re
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("candidates", net=44)
bad = env.ip(66)
with env:
    env.start_icegate(env.config(acls={"cands": [("blacklist", "%s/32" % bad)]},
                                 policy={"remote-candidates": "cands"}))

    only_bad = ["a=candidate:1 1 UDP 2130706431 %s 40000 typ host" % bad]
    code = env.phone_invite_final("0049301234", "1001", "1001secret", name="all-blocked",
                                  candidates=only_bad, c_ip=bad)
    env.check(code == 488, "offer with only blocked candidates: got %d, want 488" % code)
    env.wait_log(r'candidate "1 1 UDP 2130706431 %s 40000 typ host" rejected by acl "cands"'
                 % re.escape(bad))
    env.check(not re.search(r"media ports", env.log()), "the refused offer must not set up media")

    # The blocked address is watched: icegate must never send anything there.
    trap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    trap.bind((bad, 40000))
    trap.setblocking(False)
    offer = [
        "a=candidate:1 1 UDP 2130706431 %s 40000 typ host" % bad,
        "a=candidate:2 1 TCP 1518280447 %s 9 typ host tcptype active" % env.phone_ip,
        "a=candidate:3 1 UDP 2130706431 4f2d6c1e-8b0a-4d3e-9b1c-1234567890ab.local 40002 typ host",
        "a=candidate:4 1 UDP 2130706175 %s 40000 typ host" % env.phone_ip,
    ]
    trunk = env.trunk_uas()
    phone, outfile = env.phone_call("0049301234", "1001", "1001secret", name="partly-blocked",
                                    candidates=offer, c_ip=bad)
    answer = env.wait_file(outfile)
    env.media_through(answer)
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"media closed: A in")

    got = 0
    while True:
        try:
            trap.recvfrom(2048)
            got += 1
        except BlockingIOError:
            break
    trap.close()
    env.check(got == 0, "icegate sent %d datagram(s) to the blocked candidate %s:40000" % (got, bad))
    log = env.log()
    dropped = re.search(r"call c\d+: dropped remote candidates: (.*)", log)
    env.check(dropped, "the log must list the dropped candidates")
    d = dropped.group(1)
    env.check(re.search(r'candidate "1 1 UDP 2130706431 %s 40000 typ host" rejected by acl "cands"'
                        % re.escape(bad), d), "blocked candidate and ACL named: %s" % d)
    env.check(re.search(r'candidate "2 1 TCP [^"]*" not UDP', d), "TCP candidate named: %s" % d)
    env.check(re.search(r'candidate "3 1 UDP [^"]*\.local[^"]*" not an IP address', d),
              "mDNS candidate named: %s" % d)
    env.check("%s 40000 typ host\" " % env.phone_ip not in d, "the good candidate was dropped: %s" % d)
    env.check(re.search(r"ICE connected on A \(%s:40000" % re.escape(env.phone_ip), log),
              "ICE must connect through the allowed candidate")

    # 3. A called phone that answers a=ice-mismatch (none of icegate's candidates fits it,
    #    RFC 8839): icegate refuses that answer with the reason and fails the trunk's call at
    #    once (480), instead of waiting ice-timeout for checks that will never come.
    env.register("1002", "1002secret")
    env.wait_log(r"REGISTER 1002 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    phone_out = os.path.join(env.work, "mismatch-offer.txt")
    phone = env.sipp_run("phone-mismatch", "phone_answer.xml", env.phone_ip, 5060,
                         extra=["-s", "1002", "-key", "outfile", phone_out]
                         + env.phone_keys(extra=["a=ice-mismatch"]))
    final_out = os.path.join(env.work, "mismatch-final.txt")
    trunk = env.sipp_run("trunk-mismatch", "invite_final.xml", env.trunk_ip, 5080,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1002", "-key", "outfile", final_out, "-mi", env.trunk_ip,
                                "-mp", 6500, "-key", "max_forwards", 70] + env.offer_keys())
    offer = env.wait_file(phone_out)
    env.send_go(env.phone_ip, 5060, offer["call_id"])  # the phone answers now
    final = int(env.wait_file(final_out)["final"])
    trunk.expect_success()
    phone.expect_success()
    env.check(final == 480, "an a=ice-mismatch answer must fail the trunk's call: got %d" % final)
    env.check(re.search(r"call c\d+: the phone answered a=ice-mismatch", env.log()),
              "the log must say the phone answered a=ice-mismatch")
    env.check(not re.search(r"ICE did not succeed", env.log()),
              "icegate must not wait for ICE after an a=ice-mismatch answer")
