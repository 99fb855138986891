#!/usr/bin/env python3
"""Flood and password-guessing protection (issue 13 item 2, docs/security.md).

<security requests-per-second="50" auth-failures="5" ban-time="30s">:
- password guessing: sipp at .5 sends 20 REGISTERs with a wrong password (each answering its
  challenge); after the 5th failure .5 is banned (one log line, one ban in the metrics), the rest
  never reach the digest check, and the right password from .5 does not register either;
- flood: a bounded sender at .6 sends OPTIONS at 2,000/s for 4 s; .6 is banned within the first
  second (one log line with its rate), the requests after that are dropped (in the kernel: it
  gets almost no answer back), and
  during the flood a phone at .3 registers and calls out through the trunk (ICE, RTP both ways)
  as it does unloaded; the trunk (.2) is never limited.
"""
import re
import socket
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("flood", net=71)
phone, guesser, flooder = env.phone_ip, env.ip(5), env.ip(6)


def with_security(path, **attrs):
    tree = ET.parse(path)
    ET.SubElement(tree.getroot().find("sip"), "security",
                  {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path


def metrics():
    with urllib.request.urlopen("http://%s:8060/metrics" % env.icegate_ip, timeout=5) as r:
        return r.read().decode()


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\d+)" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


class Flood(threading.Thread):
    """OPTIONS from `ip` at `rate`/s for `seconds` (bounded: rate * seconds datagrams), counting
    the datagrams that come back."""

    def __init__(self, ip, rate, seconds):
        super().__init__(daemon=True)
        self.ip, self.rate, self.seconds = ip, rate, seconds
        self.sent = self.answers = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 5070))
        self.sock.setblocking(False)

    def run(self):
        start = time.monotonic()
        total = self.rate * self.seconds
        while self.sent < total:
            due = start + self.sent / self.rate
            now = time.monotonic()
            if now < due:
                time.sleep(min(due - now, 0.005))
                continue
            msg = ("OPTIONS sip:{t}:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:5070;rport;branch=z9hG4bK-f{n}\r\n"
                   "From: <sip:flood@{ip}>;tag=f{n}\r\nTo: <sip:{t}:5060>\r\nCall-ID: flood-{n}@{ip}\r\n"
                   "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").format(
                       t=env.icegate_ip, ip=self.ip, n=self.sent)
            try:
                self.sock.sendto(msg.encode(), (env.icegate_ip, 5060))
            except (BlockingIOError, ConnectionRefusedError):
                pass
            self.sent += 1
            self.drain()
        end = time.monotonic() + 0.5  # late answers
        while time.monotonic() < end:
            self.drain()
            time.sleep(0.01)
        self.sock.close()

    def drain(self):
        try:
            while True:
                self.sock.recv(65535)
                self.answers += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass


with env:
    env.start_icegate(with_security(env.config(), requests_per_second=50, auth_failures=5,
                                    ban_time="30s"))

    # Unloaded: how long the phone's REGISTER takes (a sipp run, challenge included).
    t0 = time.monotonic()
    env.check(env.register_final("1001", "1001secret", phone, name="reg-unloaded") == (401, 200),
              "the phone must register")
    unloaded = time.monotonic() - t0

    # Password guessing from .5: banned after the 5th wrong password.
    guess = env.sipp_run("guess", "register_final.xml", guesser, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1002", "-au", "1002", "-ap", "wrong", "-key", "expires", 600,
                                "-key", "outfile", "%s/guess.txt" % env.work,
                                "-m", 20, "-r", 40, "-timeout", "4s"])
    env.wait_log(r"IP %s banned for 30s: 5 failed authentications within 60s" % re.escape(guesser))
    guess.wait(30)
    right = env.sipp_run("guess-right", "register_final.xml", guesser, 5060,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1002", "-au", "1002", "-ap", "1002secret", "-key", "expires",
                                600, "-key", "outfile", "%s/guess-right.txt" % env.work,
                                "-timeout", "3s"])
    right.wait(30)
    log = env.log()
    env.check(len(re.findall(r"IP %s banned" % re.escape(guesser), log)) == 1, "one ban, logged once")
    env.check(not re.search(r"REGISTER 1002 from %s" % re.escape(guesser), log),
              "the banned source must not register, even with the right password")
    m = metrics()
    env.check(metric(m, "icegate_sources_banned_total", '{reason="auth"}') == 1,
              "icegate_sources_banned_total{reason=auth} must be 1")
    env.check(metric(m, "icegate_auth_failures_total", '{method="REGISTER"}') == 5,
              "only the 5 failures before the ban reach the digest check: %s"
              % metric(m, "icegate_auth_failures_total", '{method="REGISTER"}'))

    # The flood from .6, while the phone registers and calls out through the trunk.
    flood = Flood(flooder, 2000, 4)
    flood.start()
    env.wait_log(r"IP %s banned for 30s: \d+ requests/s \(limit 50/s\)" % re.escape(flooder), 5)
    t0 = time.monotonic()
    env.check(env.register_final("1001", "1001secret", phone, name="reg-flood") == (401, 200),
              "the phone must register during the flood")
    loaded = time.monotonic() - t0
    trunk = env.trunk_uas()
    call, outfile = env.phone_call("0049301234", "1001", "1001secret")
    answer = env.wait_file(outfile)
    env.media_through(answer)
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    call.expect_success()
    trunk.expect_success()
    env.check(flood.is_alive(), "the flood must still run while the phone calls (make it longer)")
    flood.join(10)
    env.note("flood: %d OPTIONS sent, %d datagrams back; phone REGISTER %.0f ms unloaded, %.0f ms "
             "during the flood" % (flood.sent, flood.answers, unloaded * 1000, loaded * 1000))

    log = env.log()
    env.check(len(re.findall(r"IP %s banned" % re.escape(flooder), log)) == 1,
              "the flood source is banned once and logged once")
    m = metrics()
    dropped = metric(m, "icegate_banned_requests_dropped_total")
    env.check(metric(m, "icegate_sources_banned_total", '{reason="flood"}') == 1,
              "icegate_sources_banned_total{reason=flood} must be 1")
    env.check(dropped is not None and dropped >= 1,
              "requests of the banned source that reached icegate are counted: %s" % dropped)
    # After the ban the kernel drops .6's datagrams (a socket filter): no answers, no reflection.
    env.check(flood.answers < 200,
              "the banned flood source must get (almost) nothing back: %d answers to %d requests"
              % (flood.answers, flood.sent))
    options = metric(m, "icegate_sip_requests_total", '{method="OPTIONS"}')
    env.check(options is not None and options < 200,
              "at most about one second of the flood reaches the B2BUA: %s OPTIONS" % options)
