#!/usr/bin/env python3
"""Routing errors (behaviour.md section 7): from the trunk, an unknown user gets 404 and a known
but unregistered one 480; a softphone calling an unregistered user gets 480; Max-Forwards: 0
gets 483 (loop protection)."""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("errors", net=47)
with env:
    env.start_icegate(env.config())
    code = env.invite_final("9999", env.trunk_ip, 5080, name="unknown-user")
    env.check(code == 404, "INVITE from the trunk to unknown user 9999: got %d, want 404" % code)
    env.wait_log(r'rejected: 404 Not Found \(no user "9999"\)')
    code = env.invite_final("1002", env.trunk_ip, 5080, name="unregistered-user")
    env.check(code == 480, "INVITE from the trunk to unregistered 1002: got %d, want 480" % code)
    env.wait_log(r"rejected: 480 Temporarily Unavailable \(user 1002 not registered\)")
    code = env.phone_invite_final("1002", "1001", "1001secret", name="phone-to-unregistered")
    env.check(code == 480, "INVITE from phone 1001 to unregistered 1002: got %d, want 480" % code)
    code = env.invite_final("1002", env.trunk_ip, 5080, name="max-forwards-0", max_forwards=0)
    env.check(code == 483, "INVITE with Max-Forwards: 0: got %d, want 483" % code)
    env.check(not re.search(r"call c\d+: .* media ports", env.log()),
              "no call may have been set up (no media ports allocated)")
