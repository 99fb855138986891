#!/usr/bin/env python3
"""A user with a static contact that never registers (issue 11 item 3).

User 1003 has contact="sip:1003@127.0.86.3:5060": a fixed device (sipp UAS, plain RTP/AVP on
127.0.86.3:6010, where this driver's own socket sends and counts media).
1. The trunk (sipp UAC -rtp_echo, 127.0.86.2:5080) calls 1003: icegate sends the INVITE to the
   static contact (Request-URI as configured), the device answers, the trunk gets 200. The
   driver's RTP from the device's address goes device -> icegate (B) -> trunk (echo) ->
   icegate -> device: our own packets must come back.
   `icegate ctl registrations` lists the static contact.
2. A configuration whose contact is not a usable SIP URI is refused by check-config with the
   file and line of the <user>.
"""
import os
import re
import select
import socket
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env, poll

env = Env("static_contact", net=86)
DEVICE_MEDIA = 6010
SSRC = 0x5EC0A7C7


def rtp(seq):
    # RFC 3550 §5.1: V=2, PT 0 (PCMU, 8000 Hz: 160 samples per 20 ms), our SSRC.
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, SSRC) + b"\xff" * 160


def media_round_trip(addr, port, count=30):
    """Sends `count` RTP packets from the device's media address to icegate's B-leg port, one
    every 20 ms as a phone does, and counts how many of ours come back (echoed by the trunk
    through both of icegate's legs) and how many others arrive."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((env.phone_ip, DEVICE_MEDIA))
    s.setblocking(False)
    back, foreign = set(), 0

    def take():
        nonlocal foreign
        while True:
            try:
                data = s.recv(2048)
            except BlockingIOError:
                return
            if len(data) >= 12 and struct.unpack("!I", data[8:12])[0] == SSRC:
                back.add(struct.unpack("!H", data[2:4])[0])
            else:
                foreign += 1

    try:
        for seq in range(1, count + 1):
            s.sendto(rtp(seq), (addr, int(port)))
            select.select([s], [], [], 0.02)  # the 20 ms packet interval, not a wait for a result
            take()
        poll(lambda: take() or len(back) >= count, 3.0)
    finally:
        s.close()
    return len(back), foreign


def with_static_user(path, contact):
    """Adds <user name="1003" ... contact=CONTACT/> to the configuration at `path`; returns the
    line the <user> element is on."""
    tree = ET.parse(path)
    users = tree.getroot().find("users")
    ET.SubElement(users, "user", name="1003", password="1003secret", contact=contact)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    # ElementTree writes no line breaks of its own inside the new element: put it on a line of
    # its own so that the error's line number is unambiguous.
    with open(path) as f:
        text = f.read()
    text = text.replace('<user name="1003"', '\n<user name="1003"', 1)
    with open(path, "w") as f:
        f.write(text)
    return text[:text.index('<user name="1003"')].count("\n") + 1


with env:
    config = env.config()
    with_static_user(config, "sip:1003@%s:5060" % env.phone_ip)
    env.start_icegate(config)

    # 1. The trunk calls the static user; nobody ever registered as 1003.
    dev_out = os.path.join(env.work, "device.txt")
    device = env.sipp_run("device", "static_device_uas.xml", env.phone_ip, 5060,
                          extra=["-s", "1003", "-key", "outfile", dev_out,
                                 "-key", "dev_port", DEVICE_MEDIA])
    trunk_out = os.path.join(env.work, "trunk.txt")
    trunk = env.sipp_run("trunk", "trunk_call.xml", env.trunk_ip, 5080,
                         remote="%s:5060" % env.icegate_ip,
                         extra=["-s", "1003", "-mi", env.trunk_ip, "-mp", 6000, "-rtp_echo",
                                "-key", "outfile", trunk_out])
    dev = env.wait_file(dev_out)
    env.check(dev["ruri"] == "sip:1003@%s:5060" % env.phone_ip,
              "the INVITE must go to the static contact as configured: %s" % dev)
    env.check(dev["addr"] == env.icegate_ip, "icegate's media address toward the device: %s" % dev)
    env.wait_log(r"call c\d+: user 1003 has no registration: to its static contact sip:1003@%s:5060"
                 % re.escape(env.phone_ip))
    env.wait_log(r"call c\d+: connected")
    back, foreign = media_round_trip(dev["addr"], dev["port"])
    env.note("static device: %d of 30 RTP packets came back, %d foreign" % (back, foreign))
    env.check(back >= 25, "the device's RTP must come back through the trunk's echo: %d of 30"
              % back)
    env.check(foreign == 0, "RTP from an unexpected source reached the device: %d" % foreign)
    trunk_call = env.wait_file(trunk_out)
    env.send_go(env.trunk_ip, 5080, trunk_call["call_id"])
    trunk.expect_success()
    device.expect_success()  # got icegate's BYE
    env.wait_log(r"media closed: A in")
    closed = env.media_closed()
    env.check(len(closed) == 1 and closed[0][0] >= 25 and closed[0][1] >= 25,
              "media counters must show packets in on both legs: %s" % closed)

    # The operator sees it: `icegate ctl registrations` lists the static contact, in use.
    r = subprocess.run([env.icegate_bin, "ctl", "-c", config, "registrations"],
                       capture_output=True, text=True, timeout=30)
    env.check(r.returncode == 0, "icegate ctl registrations failed: %s%s" % (r.stdout, r.stderr))
    env.check(re.search(r"^1003\s+sip:1003@%s:5060\s+udp\s+yes\s*$" % re.escape(env.phone_ip),
                        r.stdout, re.M) and "1 static contact(s)" in r.stdout,
              "ctl registrations must list 1003's static contact as in use:\n" + r.stdout)

    # 2. A contact that is not a usable SIP URI: check-config names the file and line.
    for bad, why in (("sip:1003@device.example.com", "the host must be an IP address"),
                     ("tel:+49301234", "must be a sip: or sips: URI"),
                     ("sip:1003@%s;transport=sctp" % env.phone_ip, "is not one of udp, tcp, tls")):
        bad_path = os.path.join(env.work, "bad.xml")
        with open(config) as src, open(bad_path, "w") as dst:
            dst.write(src.read())
        tree = ET.parse(bad_path)
        for u in tree.getroot().find("users").findall("user"):
            if u.get("name") == "1003":
                tree.getroot().find("users").remove(u)
        tree.write(bad_path, encoding="UTF-8", xml_declaration=True)
        line = with_static_user(bad_path, bad)
        r = subprocess.run([env.icegate_bin, "check-config", bad_path], capture_output=True,
                           text=True, timeout=60)
        out = r.stdout + r.stderr
        env.check(r.returncode == 1, "check-config must refuse contact %r (exit %d): %s"
                  % (bad, r.returncode, out))
        want = "%s:%d: error: contact: \"%s\"" % (bad_path, line, bad)
        env.check(want in out and why in out,
                  "check-config must say %r ... %r, got: %s" % (want, why, out))
