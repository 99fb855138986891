#!/usr/bin/env python3
"""DTLS-SRTP on the softphone leg, plain RTP on the trunk leg, both call directions.

1. phone -> trunk: the phone (sipp + ice_phone, 127.0.53.3) offers UDP/TLS/RTP/SAVPF with its
   certificate's a=fingerprint and a=setup:actpass. icegate must answer the same proto with its
   own fingerprint (the one it logged at start) and a=setup:active (RFC 5763 §5), then be the
   DTLS client on the ICE-selected path. ice_phone (DTLS server) checks icegate's fingerprint,
   sends SRTP; the trunk (sipp -rtp_echo) echoes plain RTP; only echoes that authenticate with
   the negotiated keys count, so the phone leg is proven encrypted and the trunk leg plain
   (sipp echoes what it gets: an SRTP packet would come back as garbage).
2. trunk -> phone: icegate offers UDP/TLS/RTP/SAVPF, a=setup:actpass and its fingerprint to the
   registered phone, which answers a=setup:active (ice_phone is the DTLS client). The trunk's
   200 waits for ICE *and* DTLS.
"""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("dtls", net=53)
with env:
    env.start_icegate(env.config())
    started = re.search(r"DTLS certificate (sha-256 [0-9A-F:]+) \(generated\)", env.log())
    env.check(started, "icegate must log the fingerprint of the certificate it generated")
    gw_fp = started.group(1)
    cert_dir, phone_fp = env.phone_certificate()

    # ---- 1. phone -> trunk ------------------------------------------------------------------
    env.register("1001", "1001secret")
    env.wait_log(r"REGISTER 1001 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    trunk = env.trunk_uas()
    phone, outfile = env.phone_call("0049301234", "1001", "1001secret", proto="UDP/TLS/RTP/SAVPF",
                                    extra=["a=fingerprint:" + phone_fp, "a=setup:actpass"])
    answer = env.wait_file(outfile)
    env.check(answer["proto"] == "UDP/TLS/RTP/SAVPF",
              "the answer must keep the phone's proto: %s" % answer)
    env.check(answer["setup"] == "active", "icegate must answer a=setup:active: %s" % answer)
    env.check(answer["fingerprint"].lower() == gw_fp.lower(),
              "the answer's a=fingerprint must be icegate's certificate (%s): %s" % (gw_fp, answer))
    res = env.media_through(answer, extra_args=["--dtls", "server", "--cert-dir", cert_dir,
                                          "--peer-fingerprint", answer["fingerprint"]])
    # Both ends offer AEAD_AES_256_GCM first when their libsrtp2 keys it (issue 11 item 4).
    env.check(res["srtp_profile"] in ("AEAD_AES_256_GCM", "AEAD_AES_128_GCM",
                                      "AES_CM_128_HMAC_SHA1_80"),
              "an SRTP profile must be negotiated: %s" % res)
    env.check(res["srtp_bytes"] > 172, "the phone's packets must carry an SRTP tag: %s" % res)
    env.check(res["srtp_unauthenticated"] == 0,
              "every packet icegate sent the phone must authenticate: %s" % res)
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    phone.expect_success()
    trunk.expect_success()
    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(re.search(r"call c\d+: DTLS-SRTP up on A \(.*client", log),
              "icegate must log DTLS-SRTP up on A as the client")
    closed = re.search(r"media closed: A (.*) \| B (.*)", log)
    env.check(closed and "srtp " + res["srtp_profile"] in closed.group(1),
              "leg A's counters must show the SRTP transform: %s" % (closed and closed.group(0)))
    env.check(closed and "srtp" not in closed.group(2) and "dtls" not in closed.group(2),
              "leg B (trunk) must be plain RTP: %s" % (closed and closed.group(0)))
    srtp_in = re.search(r"srtp \S+ in (\d+) out (\d+)", closed.group(1))
    env.check(srtp_in and int(srtp_in.group(1)) >= 20 and int(srtp_in.group(2)) >= 20,
              "leg A must have unprotected and protected >= 20 packets: %s" % closed.group(1))

    # ---- 2. trunk -> phone ------------------------------------------------------------------
    env.register("1002", "1002secret")
    env.wait_log(r"REGISTER 1002 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    keys = env.phone_keys(proto="UDP/TLS/RTP/SAVPF",
                          extra=["a=fingerprint:" + phone_fp, "a=setup:active"])
    phone, trunk, offer, trunk_out = env.trunk_calls_phone("1002", keys, prefix="2-")
    env.check(offer["proto"] == "UDP/TLS/RTP/SAVPF" and offer["setup"] == "actpass" and
              offer["fingerprint"].lower() == gw_fp.lower(),
              "icegate must offer the phone UDP/TLS/RTP/SAVPF, a=setup:actpass and its "
              "fingerprint: %s" % offer)
    ice = env.ice_phone(offer["addr"], offer["port"], offer["ufrag"], offer["pwd"],
                        wait_request_ms=8000,
                        extra_args=["--dtls", "client", "--cert-dir", cert_dir,
                              "--peer-fingerprint", offer["fingerprint"]])
    ice.wait_ready()
    env.send_go(env.phone_ip, 5060, offer["call_id"])
    rc, res = ice.result()
    env.note("ice_phone: " + ice.summary)
    env.check(rc == 0, "ice_phone failed (exit %d): %s" % (rc, ice.summary))
    env.check(res["srtp_unauthenticated"] == 0 and res["srtp_bytes"] > 172,
              "SRTP both ways on the phone leg: %s" % ice.summary)
    log = env.finish_trunk_call(trunk, phone, trunk_out, nth=2)
    cid = env.check_answer_waited(log, "B answered, waiting for ICE and DTLS on the phone leg",
                                  "DTLS-SRTP up on B")
    env.check(re.search(r"call %s: DTLS-SRTP up on B \(.*server" % cid, log),
              "icegate must be the DTLS server after the phone's a=setup:active")
