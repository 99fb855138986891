#!/usr/bin/env python3
"""A softphone calls out through the trunk, and media flows both ways through icegate.

phone (sipp, 127.0.41.3) registers as 1001 (401 digest), INVITEs 0049301234 (407 digest) with an
ICE offer whose candidate is ice_phone (127.0.41.3:40000); the trunk (sipp -rtp_echo,
127.0.41.2:5080) answers. ice_phone proves ICE to icegate's phone-leg port and sends RTP; the
trunk echoes it, so our own packets come back to ice_phone through both of icegate's legs.
The phone hangs up; icegate passes the BYE to the trunk.
"""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("phone_to_trunk", net=41)
with env:
    env.start_icegate(env.config())
    env.register("1001", "1001secret")
    env.wait_log(r"REGISTER 1001 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))

    trunk = env.trunk_uas()
    phone, outfile = env.phone_call("0049301234", "1001", "1001secret")
    answer = env.wait_file(outfile)
    env.media_through(answer)
    env.send_go(env.phone_ip, 5060, answer["call_id"])  # hang up now
    phone.expect_success()
    trunk.expect_success()

    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(re.search(r"call c\d+: ICE connected on A", log), "no 'ICE connected on A' in the log")
    env.check(re.search(r"call c\d+: 1001 \(phone [0-9.:]+\S*\) -> 0049301234 \(trunk pbx\)", log),
              "the call line must name caller, callee and the trunk")
    closed = env.media_closed()
    env.check(len(closed) == 1 and closed[0][0] >= 20 and closed[0][1] >= 20,
              "media counters must show packets in on both legs: %s" % closed)
    env.check(re.search(r"BYE from A", log), "the phone's BYE must be logged")
