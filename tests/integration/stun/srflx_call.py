#!/usr/bin/env python3
"""The public address learned from STUN shows up as the srflx candidate in calls (behaviour.md
sections 2 and 3), and only once it is known.

A STUN server of this test's own (127.0.60.9:3478, a few lines below) answers every Binding
request with 127.0.60.200 as the "public" address, so that on loopback the public address differs
from the media address 127.0.60.1. It is absent when icegate starts:
1. icegate starts anyway and warns; a call's answer to the phone carries the host candidate only.
2. The server appears: icegate picks the address up on its next try (5 s back-off) and the next
   call's answer carries `typ srflx` with 127.0.60.200, the SAME port as the host candidate, and
   raddr/rport naming the media address and port.
Uses the call harness of tests/integration/calls (sipp as phone and trunk, ice_phone).
"""
import os
import re
import socket
import struct
import sys
import threading
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "calls"))
from harness import Env  # noqa: E402

PUBLIC = "127.0.60.200"
STUN = ("127.0.60.9", 3478)


def stun_server(sock, stop):
    """Answers Binding requests with XOR-MAPPED-ADDRESS = PUBLIC and the request's port."""
    sock.settimeout(0.05)
    while not stop.is_set():
        try:
            data, (ip, port) = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 20 or data[0:2] != b"\x00\x01" or data[4:8] != b"\x21\x12\xa4\x42":
            continue
        xip = bytes(a ^ b for a, b in zip(socket.inet_aton(PUBLIC), data[4:8]))
        attr = struct.pack("!HHBBH", 0x0020, 8, 0, 1, port ^ 0x2112) + xip
        sock.sendto(struct.pack("!HH", 0x0101, len(attr)) + data[4:20] + attr, (ip, port))


def call(env, name, public=None):
    """One phone -> trunk call with media; returns (answer, the phone's sipp message trace).
    With a srflx candidate (`public`), c= names it: RFC 8445 §5.1.4's default candidate."""
    trunk = env.trunk_uas(name="trunk-" + name)
    phone, outfile = env.phone_call("0049301234", "1001", "1001secret", name=name)
    answer = env.wait_file(outfile)
    env.media_through(answer, default_addr=public)
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    phone.expect_success()
    trunk.expect_success()
    return answer, phone.text()


env = Env("srflx_call", net=60)
stop = threading.Event()
with env:
    path = env.config()
    tree = ET.parse(path)
    stun = tree.getroot().find("stun")
    stun.set("enabled", "true")
    ET.SubElement(stun, "server", name="fake", host=STUN[0], port=str(STUN[1]))
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    env.start_icegate(path)
    env.wait_log(r"STUN server fake \(127\.0\.60\.9:3478\) unreachable: no public candidate is "
                 r"offered; retrying in 5 s")

    answer, trace = call(env, "before")
    env.check("typ srflx" not in trace, "a srflx candidate before STUN answered:\n" + trace)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(STUN)
    server = threading.Thread(target=stun_server, args=(sock, stop), daemon=True)
    server.start()
    try:
        env.wait_log(r"public address 127\.0\.60\.200 from STUN server fake \(127\.0\.60\.9:3478\): "
                     r"srflx candidates are offered", timeout=30)
        answer, trace = call(env, "after", public=PUBLIC)
    finally:
        stop.set()
        server.join()
        sock.close()
    port = answer["port"]
    srflx = r"a=candidate:\S+ 1 [Uu][Dd][Pp] \d+ %s %s typ srflx raddr %s rport %s" % (
        re.escape(PUBLIC), port, re.escape(env.icegate_ip), port)
    env.check(re.search(srflx, trace), "no srflx candidate %s in the answer:\n%s" % (srflx, trace))
    env.check(len(re.findall(r"public address 127\.0\.60\.200", env.log())) == 1,
              "the public address must be learned once, not per call")
