#!/usr/bin/env python3
"""The trunk calls a registered softphone; icegate answers the trunk only once ICE succeeded.

phone (sipp) registers as 1002 from 127.0.42.3:5060, then waits as a UAS. The trunk (sipp UAC
with -rtp_echo, 127.0.42.2:5080) INVITEs 1002 with plain RTP. The phone rings, and answers with
an ICE offer once ice_phone listens. icegate must then punch a pin-hole to the phone's
candidate (ice_phone answers it and starts its checks), report ICE connected and only then send
200 to the trunk (which must have seen 180 before). ice_phone's RTP goes phone -> icegate ->
trunk (echo) -> icegate -> phone. The trunk hangs up.
"""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("trunk_to_phone", net=42)
with env:
    env.start_icegate(env.config())
    env.register("1002", "1002secret")
    env.wait_log(r"REGISTER 1002 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))

    phone, trunk, offer, trunk_out = env.trunk_calls_phone("1002")
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

    log = env.finish_trunk_call(trunk, phone, trunk_out)
    cid = env.check_answer_waited(log, "B answered, waiting for ICE on the phone leg",
                                  "ICE connected on B")
    closed = env.media_closed()
    env.check(len(closed) == 1 and closed[0][0] >= 20 and closed[0][1] >= 20,
              "media counters must show packets in on both legs: %s" % closed)
    env.check(re.search(r"call %s: BYE from A" % cid, log), "the trunk's BYE must be logged")
