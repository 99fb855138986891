#!/usr/bin/env python3
"""RFC 4733 events from a real trunk reach a phone under the phone's own payload type (issue 11
item 4, the second half of codecs.py).

The trunk (sipp, 127.0.88.2) calls phone 1002 offering PCMU and telephone-event/8000 as 101.
The phone (sipp + ice_phone, 127.0.88.3, ICE, plain RTP) answers with telephone-event/8000
under 126. Once connected, the trunk plays sipp's own RFC 4733 capture (dtmf_2833_1.pcap: the
digit 1, ten event packets with payload type 101) from its RTP port. ice_phone must receive
those packets as 126 and none as 101; its own PCMU packets still go round the trunk's
-rtp_echo. icegate logs the mapping toward the phone's leg (B).
"""
import glob
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env, HERE, SKIP

EVENTS = 10  # packets in dtmf_2833_1.pcap (each a 101 event with a growing duration)


def scenario(env, name, replacements):
    """A copy of one of the shared scenarios with some lines replaced."""
    with open(os.path.join(HERE, name)) as f:
        text = f.read()
    for old, new in replacements:
        env.check(old in text, "%s no longer has %r" % (name, old))
        text = text.replace(old, new)
    path = os.path.join(env.work, "codecs-" + name)
    with open(path, "w") as f:
        f.write(text)
    return path


env = Env("codecs_dtmf", net=88)
with env:
    pcap = sorted(glob.glob("/usr/share/sip-tester*/**/dtmf_2833_1.pcap", recursive=True))
    if not pcap:
        print("SKIP: sipp's dtmf_2833_1.pcap is not installed")
        sys.exit(SKIP)
    if os.geteuid() != 0:
        print("SKIP: sipp plays a pcap through a raw socket (needs root)")
        sys.exit(SKIP)
    env.start_icegate(env.config())
    phone_xml = scenario(env, "phone_answer.xml", [
        ("[proto] 0 101\n      a=rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000\n"
         "      a=fmtp:101 0-16",
         "[proto] 0 126\n      a=rtpmap:0 PCMU/8000\n      a=rtpmap:126 telephone-event/8000\n"
         "      a=fmtp:126 0-16")])
    trunk_xml = scenario(env, "trunk_call.xml", [
        ("  <recv request=\"INFO\"/>",
         "  <nop><action><exec play_pcap_audio=\"%s\"/></action></nop>\n"
         "  <recv request=\"INFO\"/>" % pcap[0])])

    env.register("1002", "1002secret")
    env.wait_log(r"REGISTER 1002 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    phone_out = os.path.join(env.work, "offer.txt")
    phone = env.sipp_run("phone", phone_xml, env.phone_ip, 5060,
                         extra=["-s", "1002", "-key", "outfile", phone_out] + env.phone_keys())
    trunk_out = os.path.join(env.work, "trunk.txt")
    trunk = env.sipp_run("trunk", trunk_xml, env.trunk_ip, 5080,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1002", "-mi", env.trunk_ip, "-mp", 6000, "-rtp_echo",
                                "-key", "outfile", trunk_out])
    offer = env.wait_file(phone_out)
    # ice_phone keeps listening until the trunk's events arrived (the trunk plays them once
    # the call is connected, after the cue below), at most 20 s.
    ice = env.ice_phone(offer["addr"], offer["port"], offer["ufrag"], offer["pwd"],
                        wait_request_ms=8000,
                        extra_args=["--expect-type", "126", "--expect-count", str(EVENTS),
                                    "--expect-ms", "20000"])
    ice.wait_ready()
    env.send_go(env.phone_ip, 5060, offer["call_id"])
    rc, res = ice.result()
    env.note("ice_phone: " + ice.summary)
    env.check(rc == 0, "ice_phone failed (exit %d): %s" % (rc, ice.summary))
    env.check(res["expected_type_in"] == EVENTS,
              "the trunk's %d RFC 4733 packets (101) must reach the phone as 126: %s"
              % (EVENTS, ice.summary))
    env.check(res["foreign_other_in"] == 0,
              "nothing of the trunk's may reach the phone under another type (101): %s"
              % ice.summary)
    env.check(res["pt_mismatch"] == 0, "PCMU must come back as PCMU: %s" % ice.summary)
    log = env.finish_trunk_call(trunk, phone, trunk_out)
    env.check(re.search(r"payload types toward leg B mapped: 101->126", log),
              "icegate must log the mapping toward the phone's leg")
    closed = re.search(r"media closed: A (.*) \| B (.*)", log)
    env.check(closed and re.search(r"jitter \d+ us at 8000 Hz", closed.group(1)),
              "the trunk's PCMU counts at 8000 Hz: %s" % (closed and closed.group(0)))
