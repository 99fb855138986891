#!/usr/bin/env python3
"""ICE restart (RFC 8445 §9) by the phone in mid-call, phone -> trunk.

After media flowed, the phone re-INVITEs with a new ufrag/pwd. icegate must answer with new ICE
credentials of its own on the same port; nothing changes on the trunk's side, so the re-INVITE
is answered on the phone's leg and never reaches the trunk (issue 18: a PBX that does not expect
a re-INVITE must not get one; the trunk scenario fails on any unexpected request). Checks with
the old credentials must now fail, checks with the new ones succeed, and media flows again.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("ice_restart", net=57)
with env:
    env.start_icegate(env.config())
    trunk = env.trunk_uas()
    restarted = os.path.join(env.work, "restarted.txt")
    out = os.path.join(env.work, "answer.txt")
    phone = env.phone_call_in_steps("phone_call_restart.xml", out, restarted)
    answer = env.wait_file(out)
    env.media_through(answer)
    env.send_go(env.phone_ip, 5060, answer["call_id"])  # the phone restarts ICE
    new = env.wait_file(restarted)
    env.check(new["port"] == answer["port"], "the port must stay across an ICE restart: %s" % new)
    env.check(new["ufrag"] != answer["ufrag"] and new["pwd"] != answer["pwd"],
              "icegate must answer an ICE restart with new credentials (RFC 8445 §9): %s -> %s"
              % (answer, new))
    # The old credentials are dead: icegate refuses such checks (RFC 8445 §7.3, 401).
    stale = env.ice_phone(answer["addr"], answer["port"], answer["ufrag"], answer["pwd"],
                          packets=0, min_rtp=0, extra_args=["--ice-timeout-ms", "1500"])
    stale.wait_ready()
    rc, res = stale.result()
    env.check(rc == 1 and res["check_success"] == 0 and
              res["check_errors"] + res["responses_unauthenticated"] >= 1,
              "checks with the old credentials must be refused: %s" % stale.summary)
    restarted_answer = dict(answer, ufrag=new["ufrag"], pwd=new["pwd"])
    env.media_through(restarted_answer, local_ufrag="phoneufrag2",
                      local_pwd="phonepassword2345678901234")
    env.send_go(env.phone_ip, 5060, answer["call_id"])  # hang up
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(re.search(r"call c\d+: ICE restart by the phone on A", log),
              "icegate must log the ICE restart")
    env.check(re.search(r"call c\d+: A changes only its own leg: answered on A, not forwarded", log),
              "the ICE restart must be answered on the phone's leg, not forwarded to the trunk")
    closed = env.media_closed()
    env.check(len(closed) == 1 and min(closed[0]) >= 40,
              "media before and after the restart: %s" % closed)
