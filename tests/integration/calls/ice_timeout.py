#!/usr/bin/env python3
"""A call whose ICE never succeeds is reported and ended, not left hanging in silence
(behaviour.md sections 4 and 9 pattern 1). ice-timeout is 2 s here; no ice_phone runs.

1. phone -> trunk: icegate answers the phone, no check ever arrives; after ice-timeout icegate
   sends BYE to both legs and logs that no valid binding request arrived.
2. trunk -> phone: the phone answers, no check arrives; the trunk, which has only heard 180, gets
   480 and the phone a BYE.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("ice_timeout", net=52)
with env:
    env.start_icegate(env.config(media_extra={"ice-timeout": "2s"}))

    trunk = env.trunk_uas()
    out = os.path.join(env.work, "answer.txt")
    phone = env.sipp_run("phone", "phone_call_hungup.xml", env.phone_ip, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "0049301234", "-au", "1001", "-ap", "1001secret",
                                "-key", "from_user", "1001", "-key", "outfile", out]
                         + env.phone_keys())
    phone.expect_success()  # got icegate's BYE
    trunk.expect_success()  # got icegate's BYE
    env.wait_log(r"call c\d+: ICE did not succeed on A within 2000 ms: no valid binding request")

    env.register("1002", "1002secret")
    offer = os.path.join(env.work, "offer.txt")
    callee = env.sipp_run("callee", "phone_answer.xml", env.phone_ip, 5060,
                          extra=["-s", "1002", "-key", "outfile", offer] + env.phone_keys())
    code_out = os.path.join(env.work, "trunk-call.txt")
    caller = env.sipp_run("trunk-caller", "invite_final.xml", env.trunk_ip, 5080,
                          remote="%s:5060" % env.icegate_ip,
                          extra=["-s", "1002", "-key", "outfile", code_out, "-mi", env.trunk_ip,
                                 "-mp", 6000, "-key", "max_forwards", 70] + env.offer_keys())
    env.send_go(env.phone_ip, 5060, env.wait_file(offer)["call_id"])  # the phone answers
    caller.expect_success()
    code = int(env.wait_file(code_out)["final"])
    env.check(code == 480, "the trunk must get 480 when ICE fails on the phone leg, got %d" % code)
    callee.expect_success()  # got icegate's BYE after its 200
    env.wait_log(r"call c\d+: ICE did not succeed on B within 2000 ms")
    env.wait_log(r"media closed: A in", count=2)
    log = env.log()
    env.check(not re.search(r"ICE connected", log), "no ICE may have connected")
