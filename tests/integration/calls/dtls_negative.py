#!/usr/bin/env python3
"""DTLS-SRTP failures on the softphone leg: the call ends (or the media is dropped) with the
reason logged, and icegate keeps running. handshake-timeout is 2 s here.

1. Wrong fingerprint: the phone's SDP names certificate X, ice_phone presents certificate Y.
   icegate (DTLS client after a=setup:actpass) must refuse the handshake, log why, and end the
   call with a BYE on both legs.
2. DTLS never starts: the phone answers for a=setup:active (icegate is the server) but never
   sends a ClientHello; after ICE succeeded icegate must give up after handshake-timeout and end
   the call.
3. SRTP authentication failures: a good call in which the phone first sends 5 SRTP packets with
   a broken tag: icegate drops and counts them (srtp-auth-failed=5), the call goes on and the
   phone's good packets still come back.
4. A trunk offering DTLS-SRTP gets 488 (icegate runs DTLS only on ICE legs, docs/security.md),
   with the reason logged; so does a phone whose secure offer carries no keys at all.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("dtls_negative", net=54)
with env:
    env.start_icegate(env.config(dtls={"handshake-timeout": "2s"}))
    cert_x, fp_x = env.phone_certificate("x")
    cert_y, _ = env.phone_certificate("y")
    env.register("1001", "1001secret")
    env.wait_log(r"REGISTER 1001 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))

    def call(name, setup, fingerprint):
        trunk = env.trunk_uas(name="trunk-" + name)
        phone, outfile = env.phone_call("0049301234", "1001", "1001secret", name="phone-" + name,
                                        proto="UDP/TLS/RTP/SAVPF",
                                        extra=["a=fingerprint:" + fingerprint, "a=setup:" + setup])
        return trunk, phone, outfile, env.wait_file(outfile)

    # ---- 1. wrong fingerprint ---------------------------------------------------------------
    trunk, phone, outfile, answer = call("wrongfp", "actpass", fp_x)
    ice = env.ice_phone(answer["addr"], answer["port"], answer["ufrag"], answer["pwd"],
                        extra_args=["--dtls", "server", "--cert-dir", cert_y,
                              "--peer-fingerprint", answer["fingerprint"], "--dtls-timeout-ms", "4000"])
    ice.wait_ready()
    rc, res = ice.result()
    env.check(rc == 4, "ice_phone must not get a DTLS connection with the wrong certificate: %s"
              % ice.summary)
    env.wait_file(outfile + ".bye")  # icegate hung up on the phone
    phone.expect_success()
    trunk.expect_success()  # and sent BYE to the trunk
    failed = env.wait_log(r"call (c\d+): DTLS-SRTP failed on A: (.*)")
    log = env.log()
    m = re.search(r"call (c\d+): DTLS-SRTP failed on A: (.*)", log)
    env.check(m and re.search(r"fingerprint", m.group(2), re.I),
              "the log must say the peer's certificate did not match its fingerprint: %s"
              % (m and m.group(0)))
    env.check(re.search(r"call %s: ending \(DTLS-SRTP failed\)" % m.group(1), log),
              "the call must end with the reason 'DTLS-SRTP failed'")
    env.check(len(env.media_closed()) == 1 and env.media_closed()[0][1] == 0,
              "no media may have reached the trunk: %s" % env.media_closed())

    # ---- 2. DTLS never starts ---------------------------------------------------------------
    trunk, phone, outfile, answer = call("silent", "active", fp_x)
    env.check(answer["setup"] == "passive", "a=setup:active must be answered passive: %s" % answer)
    ice = env.ice_phone(answer["addr"], answer["port"], answer["ufrag"], answer["pwd"],
                        extra_args=["--dtls", "client", "--cert-dir", cert_x, "--dtls-silent",
                              "--peer-fingerprint", answer["fingerprint"],
                              "--dtls-timeout-ms", "4000"])
    ice.wait_ready()
    env.wait_file(outfile + ".bye", timeout=10)
    ice.result()
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"media closed: A in(?:.*\n)*.*media closed: A in")
    log = env.log()
    calls = re.findall(r"call (c\d+): DTLS-SRTP failed on A: (.*)", log)
    env.check(len(calls) == 2 and re.search(r"not finished within 2000 ms", calls[1][1]),
              "the second call must fail on the handshake timeout: %s" % calls)
    env.check(re.search(r"call %s: ICE connected on A" % calls[1][0], log),
              "ICE must have succeeded before the DTLS timeout")

    # ---- 3. SRTP authentication failures -----------------------------------------------------
    trunk, phone, outfile, answer = call("garbage", "actpass", fp_x)
    res = env.media_through(answer, extra_args=["--dtls", "server", "--cert-dir", cert_x,
                                          "--peer-fingerprint", answer["fingerprint"],
                                          "--srtp-garbage", "5"])
    env.check(res["srtp_garbage_sent"] == 5 and res["rtp_echoed"] >= 20,
              "the good packets must still come back: %s" % res)
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"(?:media closed: A in(?:.*\n)*.*){3}")
    closed = re.findall(r"media closed: A (.*) \| B", env.log())
    env.check(len(closed) == 3 and "srtp-auth-failed=5" in closed[2],
              "leg A must count the 5 broken packets as srtp-auth-failed: %s" % closed[-1:])
    env.check(not os.path.exists(outfile + ".bye"), "the call with bad packets must go on")

    # ---- 4. secure offers icegate cannot take ------------------------------------------------
    code = env.invite_final("1001", env.trunk_ip, 5080, name="trunk-dtls",
                            proto="UDP/TLS/RTP/SAVPF",
                            sdp_extra=["a=fingerprint:" + fp_x, "a=setup:actpass"])
    env.check(code == 488, "a trunk's DTLS-SRTP offer must get 488, got %d" % code)
    env.wait_log(r"DTLS-SRTP offered on a trunk leg")
    code = env.phone_invite_final("0049301234", "1001", "1001secret", name="no-keys",
                                  proto="RTP/SAVP")
    env.check(code == 488, "an RTP/SAVP offer without a=crypto or a=fingerprint must get 488, "
              "got %d" % code)
    env.wait_log(r"RTP/SAVP without a=crypto or a=fingerprint: no keys")
