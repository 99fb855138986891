#!/usr/bin/env python3
"""re-INVITE hold and resume (behaviour.md section 7), phone -> trunk.

The call of phone_to_trunk.py; once media flows, the phone holds (a=sendonly): icegate must
pass the re-INVITE to the trunk (which answers recvonly) and the answer back. Then it resumes
(sendrecv). Media must flow again after the resume; then the phone hangs up.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("hold", net=50)
with env:
    env.start_icegate(env.config())
    trunk = env.trunk_uas(scenario="trunk_uas_hold.xml")
    resumed = os.path.join(env.work, "resumed.txt")
    out = os.path.join(env.work, "answer.txt")
    phone = env.sipp_run("phone", "phone_call_hold.xml", env.phone_ip, 5060,
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
    env.check(len(re.findall(r"call c\d+: re-INVITE from A forwarded", log)) == 2,
              "both re-INVITEs must be forwarded to the trunk")
    closed = env.media_closed()
    env.check(len(closed) == 1 and min(closed[0]) >= 40, "media before and after hold: %s" % closed)
