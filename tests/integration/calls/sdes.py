#!/usr/bin/env python3
"""SDES-SRTP (RFC 4568) toward a trunk with media-profile="sdes", both call directions.

1. phone -> trunk: icegate must offer the trunk RTP/SAVP with a=crypto lines (no ICE, no
   fingerprint); the trunk (trunk_uas_sdes.xml) accepts tag 1 with the same key, so its verbatim
   echo of icegate's SRTP decrypts on the way back. The phone (plain RTP + ICE, ice_phone) gets
   its own packets back: phone -> icegate (RTP) -> SRTP -> trunk echo -> icegate (SRTP
   authenticated and decrypted) -> phone. icegate's counters must show the SRTP transform on
   leg B and no authentication failures.
2. trunk -> phone: the trunk offers RTP/SAVP with two a=crypto lines; icegate must answer
   RTP/SAVP with exactly one a=crypto line, tag 1 and suite AES_CM_128_HMAC_SHA1_80 (the first
   it supports, RFC 4568 §7.1.1) and a fresh key of its own. sipp's echo sends back packets
   under icegate's key while icegate expects the trunk's, so every echoed packet must be
   refused as srtp-auth-failed (never relayed in clear): proof that the trunk's key is in use.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

# RFC 4568 §6.1 key material: 30 bytes (16 key + 14 salt), base64. Test values only.
KEY80 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
KEY32 = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

env = Env("sdes", net=55)
with env:
    env.start_icegate(env.config(trunk_extra={"media-profile": "sdes"}))

    # ---- 1. phone -> trunk ------------------------------------------------------------------
    env.register("1001", "1001secret")
    env.wait_log(r"REGISTER 1001 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    trunk_out = os.path.join(env.work, "trunk-uas.txt")
    trunk = env.trunk_uas(scenario="trunk_uas_sdes.xml", extra=["-key", "outfile", trunk_out])
    phone, outfile = env.phone_call("0049301234", "1001", "1001secret")
    answer = env.wait_file(outfile)
    accepted = env.wait_file(trunk_out)
    env.check(accepted["crypto"].startswith("1 AES_CM_128_HMAC_SHA1_80 inline:"),
              "icegate's offer must carry a=crypto:1 AES_CM_128_HMAC_SHA1_80: %s" % accepted)
    res = env.media_through(answer)
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(re.search(r"call c\d+: SDES-SRTP on leg B \(AES_CM_128_HMAC_SHA1_80\)", log),
              "icegate must log SDES-SRTP on the trunk leg")
    closed = re.search(r"media closed: A (.*) \| B (.*)", log)
    env.check(closed and "srtp" not in closed.group(1), "leg A (phone) is plain RTP + ICE here")
    b = closed.group(2)
    srtp = re.search(r"srtp AES_CM_128_HMAC_SHA1_80 in (\d+) out (\d+)", b)
    env.check(srtp and int(srtp.group(1)) >= 20 and int(srtp.group(2)) >= 20,
              "leg B must protect and unprotect the echoed media: %s" % b)
    env.check("srtp-auth-failed" not in b, "no SRTP failure on leg B: %s" % b)

    # ---- 2. trunk -> phone ------------------------------------------------------------------
    env.register("1002", "1002secret")
    env.wait_log(r"REGISTER 1002 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    phone, trunk, offer, trunk_out = env.trunk_calls_phone(
        "1002", scenario="trunk_call_sdes.xml", prefix="2-",
        extra=["-key", "crypto80", KEY80, "-key", "crypto32", KEY32])
    ice = env.ice_phone(offer["addr"], offer["port"], offer["ufrag"], offer["pwd"],
                        wait_request_ms=8000, min_rtp=0)
    ice.wait_ready()
    env.send_go(env.phone_ip, 5060, offer["call_id"])
    rc, res = ice.result()
    env.check(rc == 0 and res["rtp_sent"] == 25, "ice_phone: %s" % ice.summary)
    env.check(res["rtp_echoed"] == 0,
              "no echo may reach the phone: they fail authentication under the trunk's key: %s"
              % ice.summary)
    answer = env.wait_file(trunk_out + ".answer")
    m = re.match(r"1 AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)$", answer["crypto"])
    env.check(m and m.group(1) not in (KEY80, KEY32),
              "icegate must accept tag 1 with a key of its own: %s" % answer)
    log = env.finish_trunk_call(trunk, phone, trunk_out, nth=2)
    closed = re.findall(r"media closed: A (.*) \| B (.*)", log)
    a = closed[-1][0]
    failed = re.search(r"srtp-auth-failed=(\d+)", a)
    env.check("srtp AES_CM_128_HMAC_SHA1_80" in a and failed and int(failed.group(1)) >= 20,
              "leg A (trunk) must refuse the echoes as srtp-auth-failed: %s" % a)
