#!/usr/bin/env python3
"""Hold and resume in mid-call (behaviour.md section 7), phone -> trunk, with re-INVITE.

The call of phone_to_trunk.py; once media flows, the phone holds (a=sendonly): icegate must
pass the request to the trunk (which answers recvonly) and the answer back. Then it resumes
(sendrecv). Media must flow again after the resume; then the phone hangs up.
update.py runs the same flow with UPDATE (RFC 3311).
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env


def run(name, net, method, phone_scenario, trunk_scenario, forwarded, answered=None):
    """The hold/resume call; `forwarded` / `answered` are log patterns that must match twice."""
    env = Env(name, net=net)
    with env:
        env.start_icegate(env.config())
        trunk = env.trunk_uas(scenario=trunk_scenario)
        resumed = os.path.join(env.work, "resumed.txt")
        out = os.path.join(env.work, "answer.txt")
        phone = env.phone_call_in_steps(phone_scenario, out, resumed)
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
        for pattern in [forwarded] + ([answered] if answered else []):
            env.check(len(re.findall(pattern, log)) == 2,
                      "both %s requests must pass through icegate (log: %s)" % (method, pattern))
        closed = env.media_closed()
        env.check(len(closed) == 1 and min(closed[0]) >= 40,
                  "media before and after hold: %s" % closed)


if __name__ == "__main__":
    run("hold", 50, "re-INVITE", "phone_call_hold.xml", "trunk_uas_hold.xml",
        r"call c\d+: re-INVITE from A forwarded")
