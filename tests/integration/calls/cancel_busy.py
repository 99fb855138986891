#!/usr/bin/env python3
"""CANCEL during ringing and a busy callee (behaviour.md section 7).

1. The trunk calls registered 1002, the phone rings (180) and never answers, the trunk CANCELs:
   the trunk gets 200 + 487, the phone gets a CANCEL from icegate, the media session is freed.
2. The trunk calls 1002 again; the phone answers 486 Busy Here: the trunk gets 486.
"""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("cancel_busy", net=46)
with env:
    env.start_icegate(env.config())
    env.register("1002", "1002secret")

    phone = env.sipp_run("phone-ring", "phone_ring_cancel.xml", env.phone_ip, 5060,
                         extra=["-s", "1002"])
    trunk = env.sipp_run("trunk-cancel", "trunk_cancel.xml", env.trunk_ip, 5080,
                         remote="%s:5060" % env.icegate_ip, extra=["-s", "1002"])
    trunk.expect_success()   # 180, then 200 to its CANCEL and 487
    phone.expect_success()   # got icegate's CANCEL
    env.wait_log(r"call c\d+: CANCEL from the caller")
    env.wait_log(r"media closed: A in")

    phone = env.sipp_run("phone-busy", "phone_busy.xml", env.phone_ip, 5060, extra=["-s", "1002"])
    code = env.invite_final("1002", env.trunk_ip, 5080, name="trunk-to-busy")
    env.check(code == 486, "the callee's 486 must reach the trunk, got %d" % code)
    phone.expect_success()
    env.wait_log(r"B answered 486")
    env.wait_log(r"media closed: A in", count=2)
    log = env.log()
    env.check(len(re.findall(r"call c\d+: ending", log)) == 2, "both calls must end (and be logged)")
