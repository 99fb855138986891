#!/usr/bin/env python3
"""UPDATE (RFC 3311) hold and resume, phone -> trunk: hold.py with UPDATE instead of re-INVITE.

icegate must pass each UPDATE to the trunk with the SDP rewritten for the trunk leg (plain
RTP/AVP, a=sendonly / a=sendrecv, no ICE) and the trunk's answer back to the phone rewritten for
the phone leg (ICE-lite, recvonly / sendrecv). Media must flow again after the resume.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("update", net=56)
with env:
    env.start_icegate(env.config())
    trunk = env.trunk_uas(scenario="trunk_uas_update.xml")
    resumed = os.path.join(env.work, "resumed.txt")
    out = os.path.join(env.work, "answer.txt")
    phone = env.sipp_run("phone", "phone_call_update.xml", env.phone_ip, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "0049301234", "-au", "1001", "-ap", "1001secret",
                                "-key", "from_user", "1001", "-key", "outfile", out,
                                "-key", "outfile2", resumed] + env.phone_keys())
    answer = env.wait_file(out)
    env.media_through(answer)
    env.send_go(env.phone_ip, 5060, answer["call_id"])  # hold, then resume
    env.wait_file(resumed)
    env.media_through(answer)  # media again after the resume
    env.send_go(env.phone_ip, 5060, answer["call_id"])  # hang up
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(len(re.findall(r"call c\d+: UPDATE from A forwarded\n", log)) == 2,
              "both UPDATEs must be forwarded to the trunk with their SDP")
    env.check(len(re.findall(r"call c\d+: UPDATE answered 200 on B", log)) == 2,
              "both UPDATE answers must come back from the trunk")
    closed = env.media_closed()
    env.check(len(closed) == 1 and min(closed[0]) >= 40, "media before and after hold: %s" % closed)
