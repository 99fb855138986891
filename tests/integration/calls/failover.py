#!/usr/bin/env python3
"""Trunk fail-over (behaviour.md section 7): the trunk has two addresses; the first answers 503,
so icegate sends the call to the second, which answers; media flows as usual. This time the
called trunk hangs up: icegate must pass its BYE to the phone."""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("failover", net=49)
first, second = env.ip(2), env.ip(4)
with env:
    env.start_icegate(env.config(trunk_addresses=[(first, 5080), (second, 5080)]))
    overloaded = env.sipp_run("trunk-503", "trunk_503.xml", first, 5080)
    trunk_out = os.path.join(env.work, "trunk.txt")
    trunk = env.trunk_uas(scenario="trunk_uas_hangup.xml", ip=second, name="trunk-second",
                          extra=["-key", "outfile", trunk_out])
    out = os.path.join(env.work, "answer.txt")
    phone = env.sipp_run("phone", "phone_call_hungup.xml", env.phone_ip, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "0049301234", "-au", "1001", "-ap", "1001secret",
                                "-key", "from_user", "1001", "-key", "outfile", out]
                         + env.phone_keys())
    answer = env.wait_file(out)
    env.media_through(answer)
    env.send_go(second, 5080, env.wait_file(trunk_out)["call_id"])  # the trunk hangs up
    trunk.expect_success()
    phone.expect_success()
    overloaded.expect_success()
    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(re.search(r"trunk pbx address %s answered 503: trying the next address"
                        % re.escape(first), log), "the fail-over must be logged")
    env.check(re.search(r"call c\d+: BYE from B", log), "the trunk's BYE must be logged")
    closed = env.media_closed()
    env.check(len(closed) == 1 and min(closed[0]) >= 20, "media on both legs: %s" % closed)
