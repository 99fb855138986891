#!/usr/bin/env python3
"""Codec-aware relay (issue 11 item 4) through the icegate binary, with a browser-like phone.

The phone (sipp + ice_phone, 127.0.87.3) offers UDP/TLS/RTP/SAVPF with opus/48000/2 (111) and
telephone-event/8000 under 126, as Chromium does. The trunk (sipp, 127.0.87.2) answers opus 111
and telephone-event/8000 under its own number 101. Its RTP port .2:6000 is this driver's echo,
which keeps a count of the payload types that reach the trunk (.2:6010, see the address plan).

ice_phone proves ICE, does DTLS-SRTP with icegate (both sides offer AEAD_AES_256_GCM first:
that is what they must agree on), then sends 20 ms opus packets (timestamps in steps of 960, a
48 kHz clock) with every 5th packet a telephone-event under 126.

Checked:
- the trunk saw opus as 111 and the events as 101, never 126 (icegate rewrote the payload type
  after SRTP unprotect); the echoes came back to the phone authenticated and with the payload
  type each packet left with (101 back to 126 before SRTP protect), events included;
- icegate logged both mappings (126->101 toward B, 101->126 toward A);
- the call-end line shows leg A's jitter in the 48 kHz clock: a few ms at most on loopback,
  not the 100000 us an 8 kHz reading of opus timestamps gives;
- the negotiated DTLS-SRTP profile is AEAD_AES_256_GCM on both ends (ice_phone's summary and
  icegate's SRTP counters).
"""
import collections
import os
import re
import socket
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env, HERE

PACKETS = 60
EVENT_EVERY = 5
ECHO_PORT = 6010  # the trunk's RTP, this driver's echo (sipp keeps its own -mp 6000)


class TrunkEcho:
    """The trunk's RTP port: echoes every datagram to where it came from, counting payload
    types. Bound before the call starts, so nothing icegate sends it is lost."""

    def __init__(self, ip, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.2)
        self.types = collections.Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                data, src = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            if len(data) >= 12 and data[0] >> 6 == 2 and not 192 <= data[1] <= 223:
                with self.lock:
                    self.types[data[1] & 0x7F] += 1
            self.sock.sendto(data, src)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()

    def counts(self):
        with self.lock:
            return dict(self.types)


def scenario(env, name, replacements):
    """A copy of one of the shared scenarios with its codec lines replaced."""
    with open(os.path.join(HERE, name)) as f:
        text = f.read()
    for old, new in replacements:
        env.check(old in text, "%s no longer has %r" % (name, old))
        text = text.replace(old, new)
    path = os.path.join(env.work, "codecs-" + name)
    with open(path, "w") as f:
        f.write(text)
    return path


env = Env("codecs", net=87)
with env:
    env.start_icegate(env.config())
    cert_dir, phone_fp = env.phone_certificate()
    phone_xml = scenario(env, "phone_call.xml", [
        ("[proto] 0 101\n      a=rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000\n"
         "      a=fmtp:101 0-16",
         "[proto] 111 126\n      a=rtpmap:111 opus/48000/2\n"
         "      a=rtpmap:126 telephone-event/8000\n      a=fmtp:126 0-16")])
    trunk_xml = scenario(env, "trunk_uas.xml", [
        ("m=audio [media_port] RTP/AVP 0 101\n      a=rtpmap:0 PCMU/8000",
         "m=audio %d RTP/AVP 111 101\n      a=rtpmap:111 opus/48000/2" % ECHO_PORT)])

    env.register("1001", "1001secret")
    env.wait_log(r"REGISTER 1001 from %s:5060\S*: 1 binding" % re.escape(env.phone_ip))
    echo = TrunkEcho(env.trunk_ip, ECHO_PORT)
    try:
        # The trunk's SDP names the echo's port; sipp itself relays no media here.
        trunk = env.sipp_run("trunk", trunk_xml, env.trunk_ip, 5080,
                             extra=["-mi", env.trunk_ip, "-mp", 6000])
        out = os.path.join(env.work, "phone-answer.txt")
        phone = env.sipp_run("phone", phone_xml, env.phone_ip, 5060,
                             remote="%s:5060" % env.icegate_ip,
                             extra=["-s", "0049301234", "-au", "1001", "-ap", "1001secret",
                                    "-key", "from_user", "1001", "-key", "outfile", out]
                             + env.phone_keys(proto="UDP/TLS/RTP/SAVPF",
                                              extra=["a=fingerprint:" + phone_fp,
                                                     "a=setup:actpass"]))
        answer = env.wait_file(out)
        env.check(answer["proto"] == "UDP/TLS/RTP/SAVPF", "DTLS-SRTP answer: %s" % answer)
        res = env.media_through(answer, packets=PACKETS, min_rtp=PACKETS * 3 // 4,
                                extra_args=["--dtls", "server", "--cert-dir", cert_dir,
                                            "--peer-fingerprint", answer["fingerprint"],
                                            "--payload-type", "111", "--ts-step", "960",
                                            "--event-type", "126",
                                            "--event-every", str(EVENT_EVERY)])
        env.send_go(env.phone_ip, 5060, answer["call_id"])
        phone.expect_success()
        trunk.expect_success()
    finally:
        seen = echo.counts()
        echo.close()
    env.note("trunk saw payload types: %s" % seen)

    # The trunk gets the events under its own number, never the browser's.
    events = PACKETS // EVENT_EVERY
    env.check(seen.get(126, 0) == 0, "126 must never reach the trunk (it numbers events 101): "
                                     "%s" % seen)
    env.check(seen.get(101, 0) >= events * 3 // 4,
              "the phone's %d events must reach the trunk as 101: %s" % (events, seen))
    env.check(seen.get(111, 0) >= (PACKETS - events) * 3 // 4,
              "opus must reach the trunk as 111: %s" % seen)
    # And come back to the phone under 126, authenticated.
    env.check(res["pt_mismatch"] == 0,
              "every echo must come back with the payload type it left with: %s" % res)
    env.check(res["events_echoed"] >= events * 3 // 4,
              "the events must come back to the phone as 126: %s" % res)
    env.check(res["srtp_unauthenticated"] == 0,
              "every packet toward the phone must authenticate (rewritten before protect): %s"
              % res)
    env.check(res["srtp_profile"] == "AEAD_AES_256_GCM",
              "DTLS-SRTP must settle on AEAD_AES_256_GCM when both ends offer it: %s" % res)

    env.wait_log(r"media closed: A in")
    log = env.log()
    env.check(re.search(r"payload types toward leg B mapped: 126->101", log),
              "icegate must log the mapping toward the trunk")
    env.check(re.search(r"payload types toward leg A mapped: 101->126", log),
              "icegate must log the mapping toward the phone")
    closed = re.search(r"media closed: A (.*) \| B (.*)", log)
    env.check(closed, "no call-end line")
    env.check("srtp AEAD_AES_256_GCM" in closed.group(1),
              "leg A's SRTP must be AEAD_AES_256_GCM: %s" % closed.group(1))
    jitter = re.search(r"jitter (\d+) us at (\d+) Hz", closed.group(1))
    env.check(jitter, "leg A's call-end counters must show its jitter: %s" % closed.group(1))
    env.note("leg A jitter: %s us at %s Hz" % jitter.groups())
    env.check(jitter.group(2) == "48000", "opus counts at 48 kHz: %s" % closed.group(1))
    env.check(int(jitter.group(1)) < 20000,
              "leg A's jitter must be in the opus clock (a few ms on loopback; 100000 us when "
              "read at 8 kHz): %s" % closed.group(1))
