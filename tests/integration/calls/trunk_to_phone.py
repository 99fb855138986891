#!/usr/bin/env python3
"""The trunk calls a registered softphone; icegate answers the trunk only once ICE succeeded.

phone (sipp) registers as 1002 from 127.0.42.3:5060, then waits as a UAS. The trunk (sipp UAC
with -rtp_echo, 127.0.42.2:5080) INVITEs 1002 with plain RTP. The phone rings, and answers with
an ICE offer once ice_phone listens. icegate must then punch a pin-hole to the phone's
candidate (ice_phone answers it and starts its checks), report ICE connected and only then send
200 to the trunk (which must have seen 180 before). ice_phone's RTP goes phone -> icegate ->
trunk (echo) -> icegate -> phone. The trunk hangs up.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("trunk_to_phone", net=42)
with env:
    env.start_icegate(env.config())
    env.register("1002", "1002secret")
    env.wait_log(r"REGISTER 1002 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))

    phone_out = os.path.join(env.work, "offer.txt")
    phone = env.sipp_run("phone", "phone_answer.xml", env.phone_ip, 5060,
                         extra=["-s", "1002", "-key", "outfile", phone_out] + env.phone_keys())
    env.wait_udp_bound(env.phone_ip, 5060)
    trunk_out = os.path.join(env.work, "trunk.txt")
    trunk = env.sipp_run("trunk", "trunk_call.xml", env.trunk_ip, 5080,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1002", "-mi", env.trunk_ip, "-mp", 6000, "-rtp_echo",
                                "-key", "outfile", trunk_out])
    offer = env.wait_file(phone_out)
    env.check(offer["addr"] == env.icegate_ip and offer["cand"] == "%s:%s" % (env.icegate_ip,
                                                                               offer["port"]),
              "the offer to the phone must carry icegate's media address and port: %s" % offer)
    env.wait_file(trunk_out)  # the trunk got 180

    ice = env.ice_phone(offer["addr"], offer["port"], offer["ufrag"], offer["pwd"],
                        wait_request_ms=8000)
    ice.wait_ready()
    env.send_go(env.phone_ip, 5060, offer["call_id"])  # the phone answers now
    rc, res = ice.result()
    env.note("ice_phone: " + ice.summary)
    env.check(res.get("requests_valid", 0) >= 1,
              "icegate sent no valid pin-hole Binding Request to the phone's candidate after the "
              "answer (behaviour.md section 4): %s" % ice.summary)
    env.check(rc == 0, "ice_phone failed (exit %d): %s" % (rc, ice.summary))
    env.check(res["rtp_foreign"] == 0, "RTP from an unexpected source: %s" % ice.summary)

    trunk_call = env.wait_file(trunk_out)
    # 200 reaches the trunk only after ICE: wait for it in icegate's log before the BYE cue.
    env.wait_log(r"call c\d+: connected")
    env.send_go(env.trunk_ip, 5080, trunk_call["call_id"])
    trunk.expect_success()
    phone.expect_success()
    env.wait_log(r"media closed: A in")
    log = env.log()
    waiting = re.search(r"call (c\d+): B answered, waiting for ICE on the phone leg", log)
    env.check(waiting, "icegate must hold the trunk's 200 until ICE succeeds ('waiting for ICE')")
    cid = waiting.group(1)
    ice_at = log.find("call %s: ICE connected on B" % cid)
    connected_at = log.find("call %s: connected" % cid)
    env.check(0 <= waiting.start() < ice_at < connected_at,
              "order must be: B answered/waiting for ICE, ICE connected on B, connected (200 to "
              "the trunk)")
    closed = env.media_closed()
    env.check(len(closed) == 1 and closed[0][0] >= 20 and closed[0][1] >= 20,
              "media counters must show packets in on both legs: %s" % closed)
    env.check(re.search(r"call %s: BYE from A" % cid, log), "the trunk's BYE must be logged")
