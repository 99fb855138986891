#!/usr/bin/env python3
"""End to end with a real softphone: baresip 1.0 (ICE, optionally DTLS-SRTP) <-> icegate <->
a sipp trunk that echoes RTP, in either call direction.

Topology (README.md has the picture): two network namespaces this test creates and deletes,
    igw-<pid>: icegate (SIP + media on 10.201.0.1) and the sipp trunk (127.0.0.1:5080, RTP echo
               on 127.0.0.1:6000; the namespace's own loopback)
    iph-<pid>: baresip (SIP on 10.201.0.2:5060, ctrl_tcp on the namespace's 127.0.0.1:4444)
joined by a veth pair (vgw<pid> 10.201.0.1/24 <-> vph<pid> 10.201.0.2/24). Nothing in the root
namespace sends to those addresses; every process runs under `ip netns exec`. The driver talks
to baresip's ctrl_tcp through a small bridge (this script with --ctrl-bridge) that runs inside
the phone's namespace and relays JSON lines over pipes.

    baresip_call.py --icegate BIN --source DIR --direction phone_to_trunk|trunk_to_phone
                    [--mediaenc none|dtls_srtp|srtp-mand] [--rtcp-mux yes|no] [--media-seconds S]
                    [--sip-transport udp|tls --ice-phone BIN]

--sip-transport tls: icegate gets a TLS listener on 10.201.0.1:5061 with a certificate made by
`ice_phone --make-cert`, baresip registers and calls over it (account ;transport=tls). The SIP
checks then read baresip's own SIP trace (-s) instead of the capture, and the capture must show
TLS records only on 5061 and no cleartext SIP anywhere.

Exit 0 pass, 1 fail (with icegate's log, baresip's output, the ctrl_tcp transcript, the sipp
traces and a summary of the capture), 77 skip (not root, no network namespaces, baresip, its
modules, sipp or ip missing; with tls: a baresip built without SIP/TLS). Set ICEGATE_TEST_KEEP=1
to keep the work directory (configs, logs, the pcap, baresip's WAV dumps).
"""

import argparse
import glob
import array
import ctypes
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
TLS_PORT = 5061                         # icegate's TLS listener (--sip-transport tls)

GW_IP, PHONE_IP, NET_BITS = "10.201.0.1", "10.201.0.2", 24
TRUNK_IP, TRUNK_SIP_PORT, TRUNK_MEDIA_PORT = "127.0.0.1", 5080, 6000
ICEGATE_RTP = (30000, 30099)
PHONE_RTP = "40000-40099"
CTRL_PORT = 4444
USER, PASSWORD = "1001", "1001secret"
DIAL = "0049301234"                     # not a user: icegate routes it to the trunk
MIN_PKTS = 100                          # 3 s of 20 ms packets is 150; generous for slow hosts
PCMU_RTP_LEN = 12 + 160                 # plain RTP, PCMU, 20 ms: UDP payload bytes
SRTP_TAGS = {4: "AES_CM_128_HMAC_SHA1_32", 10: "AES_CM_128_HMAC_SHA1_80", 16: "AEAD_AES_*_GCM"}
BARESIP_MODULES = ("g711", "ausine", "ice", "srtp", "dtls_srtp", "sndfile", "account", "menu",
                   "ctrl_tcp")
MODULE_DIR = "/usr/lib/baresip/modules"


def tag_of(suite):
    """SRTP authentication tag length in bytes of an SRTP protection profile name."""
    if suite.endswith("_80"):
        return 10
    if suite.endswith("_32"):
        return 4
    if "GCM" in suite:
        return 16
    return None


sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "calls"))
from harness import TestFailure, poll, wait_listening  # noqa: E402  (the call tests' helpers)


def _die_with_parent():
    """preexec_fn: SIGKILL this child when the driver dies (even by SIGKILL from ctest)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# ---------------------------------------------------------------------------------------------
# Helper modes: these run inside a namespace (ip netns exec ... python3 baresip_call.py --mode)
# ---------------------------------------------------------------------------------------------
def ctrl_bridge(addr, deadline_s):
    """stdin JSON lines -> netstrings to baresip's ctrl_tcp; its netstrings -> stdout lines."""
    host, port = addr.rsplit(":", 1)
    deadline = time.monotonic() + deadline_s
    sock, err = None, None
    while sock is None and time.monotonic() < deadline:
        try:
            sock = socket.create_connection((host, int(port)), timeout=1)
        except OSError as e:
            err = e
            time.sleep(0.05)
    if sock is None:
        print(json.dumps({"bridge": "error", "error": str(err)}), flush=True)
        return 1
    sock.settimeout(None)
    print(json.dumps({"bridge": "connected"}), flush=True)

    def pump_in():
        for line in sys.stdin:
            data = line.strip().encode()
            if data:
                sock.sendall(b"%d:%s," % (len(data), data))
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=pump_in, daemon=True).start()
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            head, colon, rest = buf.partition(b":")
            if not colon or not head.isdigit() or len(rest) < int(head) + 1:
                break
            n = int(head)
            print(rest[:n].decode(errors="replace"), flush=True)
            buf = rest[n + 1:]
    print(json.dumps({"bridge": "closed"}), flush=True)
    return 0


def capture(ifname, path):
    """A minimal packet capture (AF_PACKET, every frame on ifname, both directions) into a
    libpcap file. Unlike dumpcap/tcpdump it hands each frame over as it comes (no TPACKET_V3
    block timeout), and on SIGTERM/SIGINT it drains what the kernel already queued, so the last
    messages of a call (BYE, 200) are in the file when the driver reads it."""
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((ifname, 0))
    count = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
        f.flush()
        print("capturing on %s" % ifname, flush=True)
        while True:
            done = bool(stop)
            if not done:
                select.select([s], [], [], 0.1)
            s.setblocking(False)
            while True:
                try:
                    frame = s.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                t = time.time()
                f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame))
                        + frame)
                count += 1
            s.setblocking(True)
            f.flush()
            if done:
                break
    print("captured %d frames" % count, flush=True)
    return 0


def send_info(addr, call_id):
    """The driver's cue to the waiting trunk scenario, sent to sipp directly (not via icegate)."""
    host, port = addr.rsplit(":", 1)
    msg = ("INFO sip:go@{h}:{p} SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-go-{t}\r\n"
           "From: <sip:driver@127.0.0.1>;tag=driver\r\n"
           "To: <sip:sipp@{h}>\r\n"
           "Call-ID: {cid}\r\n"
           "CSeq: 1 INFO\r\n"
           "Max-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n").format(h=host, p=port, cid=call_id, t=time.monotonic_ns())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(msg.encode(), (host, int(port)))
    finally:
        s.close()
    return 0


# ---------------------------------------------------------------------------------------------
# Capture analysis
# ---------------------------------------------------------------------------------------------
def read_pcap(path):
    """[(proto, payload_len, src, sport, dst, dport, payload, tcp_seq, tcp_flags)] of the IPv4
    UDP ("udp") and TCP ("tcp") frames; tcp_seq and tcp_flags are None for UDP."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise TestFailure("%s is not a libpcap file (magic %08x)" % (path, magic))
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:            # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            ip, lost = frame[14:], orig - incl
        elif linktype == 113:        # Linux cooked (SLL)
            if len(frame) < 16 or frame[14:16] != b"\x08\x00":
                continue
            ip, lost = frame[16:], orig - incl
        else:
            raise TestFailure("unsupported pcap link type %d" % linktype)
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] not in (6, 17):
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        if ip[9] == 17:
            udp = ip[ihl:]
            if len(udp) < 8:
                continue
            sport, dport, ulen = struct.unpack("!HHH", udp[:6])
            out.append(("udp", ulen - 8, src, sport, dst, dport, udp[8:], None, None))
        else:
            total = struct.unpack("!H", ip[2:4])[0]
            tcp = ip[ihl:total]
            if len(tcp) < 20:
                continue
            sport, dport, seq = struct.unpack("!HHI", tcp[:8])
            doff, flags = (tcp[12] >> 4) * 4, tcp[13]
            out.append(("tcp", len(tcp) - doff, src, sport, dst, dport, tcp[doff:], seq, flags))
    return out


def tcp_streams(segments):
    """{(src, sport, dst, dport): bytes} from [(src, sport, dst, dport, seq, flags, payload)]:
    each direction of each connection reassembled in sequence order (retransmissions once)."""
    by_conn = {}
    for src, sport, dst, dport, seq, flags, payload in segments:
        by_conn.setdefault((src, sport, dst, dport), []).append((seq, flags, payload))
    out = {}
    for conn, segs in by_conn.items():
        syn = [seq for seq, flags, _ in segs if flags & 0x02]
        base = (syn[0] + 1) if syn else min(seq for seq, _, _ in segs)
        data = bytearray()
        for seq, _, payload in sorted(segs, key=lambda x: (x[0] - base) & 0xFFFFFFFF):
            rel = (seq - base) & 0xFFFFFFFF
            if not payload or rel + len(payload) <= len(data):
                continue                      # empty, or a retransmission of what we have
            if rel > len(data):
                break                         # a gap: the capture missed a segment
            data += payload[len(data) - rel:]
        out[conn] = bytes(data)
    return out


TLS_CONTENT = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}


def tls_records(stream):
    """(counts by content type name, bytes not walked): walks a reassembled TCP stream as TLS
    records (type 20..23, version 3.x, length <= 2^14 + 2048). Anything that is not a record
    stops the walk; the rest of the stream is returned as not walked."""
    counts, off = {}, 0
    while off + 5 <= len(stream):
        ctype, major, _, length = struct.unpack("!BBBH", stream[off:off + 5])
        if ctype not in TLS_CONTENT or major != 3 or length > 16384 + 2048:
            break
        if off + 5 + length > len(stream):
            break
        counts[TLS_CONTENT[ctype]] = counts.get(TLS_CONTENT[ctype], 0) + 1
        off += 5 + length
    return counts, len(stream) - off


SIP_START = re.compile(rb"^(?:[A-Z]+ sips?:\S+ SIP/2\.0\r\n|SIP/2\.0 \d{3} )")


def classify(payload):
    """RFC 7983 demultiplexing by the first byte (+ RTP/RTCP split by the second)."""
    if not payload:
        return "empty"
    b0 = payload[0]
    if b0 <= 3:
        return "stun"
    if 20 <= b0 <= 63:
        return "dtls"
    if 128 <= b0 <= 191:
        if len(payload) >= 2 and 192 <= payload[1] <= 223:
            return "rtcp"
        return "rtp"
    return "other"


def plain_rtcp(payload):
    """True when the datagram is a plain RTCP compound packet: its headers' length fields walk
    exactly to its end. SRTCP appends E-flag/index (4 bytes) and a tag, and encrypts everything
    after the first 8 bytes, so the walk does not end there."""
    off = 0
    while off + 4 <= len(payload):
        if payload[off] >> 6 != 2 or not 192 <= payload[off + 1] <= 223:
            return False
        off += (struct.unpack("!H", payload[off + 2:off + 4])[0] + 1) * 4
    return off == len(payload)


def sdp_lines(sip):
    """The SDP bodies of (direction, message) pairs, for failure output."""
    out = []
    for d, t in sip:
        if "\r\n\r\nv=0" in t:
            out.append("  ---- SDP %s: %s\n%s" % ("phone -> gateway" if d == "up" else
                                                 "gateway -> phone", t.split("\r\n", 1)[0],
                                                 t.split("\r\n\r\n", 1)[1].strip()))
    return out


class Capture:
    """What went over the phone's veth: SIP messages and media datagrams per direction."""

    def __init__(self, path):
        self.sip = []          # (direction, text) direction "up" = phone -> gateway
        self.media = {"up": [], "down": []}
        self.tcp = []          # (src, sport, dst, dport, seq, flags, payload): SIP over TCP/TLS
        self.plain_sip = []    # (proto, direction, sport, dport, first line) of cleartext SIP
        self.packets = 0       # UDP and TCP between phone and gateway
        for proto, size, src, sport, dst, dport, payload, seq, flags in read_pcap(path):
            if src == PHONE_IP and dst == GW_IP:
                d = "up"
            elif src == GW_IP and dst == PHONE_IP:
                d = "down"
            else:
                continue
            self.packets += 1
            # Cleartext SIP anywhere (any port, UDP or TCP): a start line at the payload's start,
            # or "SIP/2.0" anywhere in it (a segment may carry the middle of a message).
            if SIP_START.match(payload) or b"SIP/2.0" in payload:
                self.plain_sip.append((proto, d, sport, dport,
                                       payload.split(b"\r\n", 1)[0][:80].decode(errors="replace")))
            if proto == "tcp":
                self.tcp.append((src, sport, dst, dport, seq, flags, payload))
            elif sport == 5060 or dport == 5060:
                self.sip.append((d, payload.decode(errors="replace")))
            else:
                self.media[d].append((size, sport, dport, payload))

    def tls_on(self, port):
        """Per direction ("up", "down") of the TCP connections with the gateway's `port`:
        [(connection, TLS record counts, bytes that are not TLS records, stream length)]."""
        out = {"up": [], "down": []}
        for conn, stream in sorted(tcp_streams(self.tcp).items()):
            src, sport, dst, dport = conn
            if (dst == GW_IP and dport == port) or (src == GW_IP and sport == port):
                counts, rest = tls_records(stream)
                out["up" if dst == GW_IP else "down"].append(
                    ("%s:%d->%s:%d" % conn, counts, rest, len(stream)))
        return out

    def kinds(self, d):
        out = {}
        for size, _, _, p in self.media[d]:
            k = classify(p)
            out[k] = out.get(k, 0) + 1
        return out

    def rtp(self, d, pt=0):
        return [(size, p) for size, _, _, p in self.media[d]
                if classify(p) == "rtp" and (p[1] & 0x7F) == pt]

    def rtcp(self, d):
        return [p for _, _, _, p in self.media[d] if classify(p) == "rtcp"]

    def dtls(self, d):
        return [p for _, _, _, p in self.media[d] if classify(p) == "dtls"]

    def sizes(self, d, pt=0):
        out = {}
        for size, _ in self.rtp(d, pt):
            out[size] = out.get(size, 0) + 1
        return out

    def sip_first_lines(self):
        return ["%s %s" % ("->" if d == "up" else "<-", t.split("\r\n", 1)[0]) for d, t in self.sip]

    def sip_find(self, direction, first_line_rx, cseq_method=None, last=False):
        for d, t in (reversed(self.sip) if last else self.sip):
            if d != direction or not re.match(first_line_rx, t):
                continue
            if cseq_method and not re.search(r"(?im)^CSeq:\s*\d+\s+%s\s*$" % cseq_method, t):
                continue
            return t
        return None

    def summary(self):
        lines = ["capture on the phone's veth: %d SIP messages" % len(self.sip)]
        if self.tcp:
            for d, conns in sorted(self.tls_on(TLS_PORT).items()):
                for conn, counts, rest, total in conns:
                    lines.append("  TCP %s %d bytes: TLS records %s, %d bytes not TLS"
                                 % (conn, total, counts, rest))
        if self.plain_sip:
            lines.append("  cleartext SIP: %s" % self.plain_sip[:10])
        for d, name in (("up", "phone -> gateway"), ("down", "gateway -> phone")):
            ports = sorted({(sp, dp) for _, sp, dp, _ in self.media[d]})
            lines.append("  %s media: %s, PCMU datagram sizes %s, ports %s"
                         % (name, self.kinds(d), self.sizes(d), ports[:6]))
        lines += ["  SIP " + l for l in self.sip_first_lines()]
        if any(d == "up" and "\r\na=ice-mismatch" in t for d, t in self.sip):
            lines.append("  NOTE: baresip's SDP says a=ice-mismatch: a default destination (c=/m= "
                         "or a=rtcp) in icegate's SDP has no matching a=candidate, so baresip "
                         "does not run ICE (RFC 8445 section 5.4)")
        return "\n".join(lines + sdp_lines(self.sip))


class BaresipTrace:
    """baresip's own SIP trace (-s): every message it sent or received, decrypted, with the
    transport and addresses. The TLS variant's view of the phone leg's SIP (the capture only
    sees TLS records there); the same queries as Capture's."""
    RX = re.compile(r"\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n(.*?)\x1b\[;m", re.S)

    def __init__(self, text):
        self.sip, self.hops = [], []   # (direction, text); (transport, src, dst) per message
        for m in self.RX.finditer(text):
            tp, src, dst, msg = m.groups()
            if src.startswith(PHONE_IP + ":") and dst.startswith(GW_IP + ":"):
                d = "up"
            elif src.startswith(GW_IP + ":") and dst.startswith(PHONE_IP + ":"):
                d = "down"
            else:
                continue
            self.sip.append((d, msg))
            self.hops.append((tp, src, dst))

    sip_first_lines = Capture.sip_first_lines
    sip_find = Capture.sip_find

    def summary(self):
        lines = ["baresip's SIP trace (-s): %d messages" % len(self.sip)]
        lines += ["  SIP %s %s (%s %s -> %s)" % ("->" if d == "up" else "<-", t.split("\r\n", 1)[0],
                                              tp, src, dst)
                  for (d, t), (tp, src, dst) in zip(self.sip, self.hops)]
        return "\n".join(lines + sdp_lines(self.sip))


def analyse_wav(path):
    """(seconds, fraction of loud 20 ms frames, frequency estimate of the loud part in Hz)."""
    w = wave.open(path)
    rate, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
    if width != 2:
        raise TestFailure("%s: expected 16-bit samples, got %d bytes" % (path, width))
    samples = array.array("h", w.readframes(n))
    if sys.byteorder == "big":
        samples.byteswap()
    if ch > 1:
        samples = samples[::ch]
    frame = rate // 50
    loud = crossings = loud_samples = 0
    total = 0
    for i in range(0, len(samples) - frame + 1, frame):
        fr = samples[i:i + frame]
        total += 1
        rms = math.sqrt(sum(x * x for x in fr) / frame)
        if rms > 1000:
            loud += 1
            loud_samples += frame
            crossings += sum(1 for j in range(1, frame) if (fr[j - 1] < 0) != (fr[j] < 0))
    seconds = len(samples) / float(rate) if rate else 0.0
    freq = crossings / 2.0 / (loud_samples / float(rate)) if loud_samples else 0.0
    return seconds, (loud / float(total) if total else 0.0), freq


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------
class Ctrl:
    """baresip's ctrl_tcp, through the bridge process: commands and the event stream."""

    def __init__(self, proc, log_path):
        self.proc, self.log_path = proc, log_path
        self.msgs, self.lock, self.token = [], threading.Lock(), 0
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        with open(self.log_path, "a") as log:
            for line in self.proc.stdout:
                # audio_debug answers are long and frequent: the last one is in audio_debug.txt
                log.write("<< " + (line if len(line) < 400 else line[:400] + "...(cut)\n"))
                log.flush()
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = {"bridge": "garbage", "line": line}
                with self.lock:
                    self.msgs.append(msg)

    def _find(self, pred):
        with self.lock:
            for m in self.msgs:
                if pred(m):
                    return m
        return None

    def wait(self, pred, timeout, what, alive=None):
        def check():
            if alive:
                alive()
            return self._find(pred)
        m = poll(check, timeout)
        if not m:
            raise TestFailure("timed out after %s s waiting for %s from baresip's ctrl_tcp"
                              % (timeout, what))
        return m

    def event(self, etype, timeout, alive=None):
        return self.wait(lambda m: m.get("event") and m.get("type") == etype, timeout,
                         "event %s" % etype, alive)

    def events(self, etype=None):
        with self.lock:
            return [m for m in self.msgs if m.get("event") and (etype is None or m.get("type") == etype)]

    def command(self, cmd, params=None, timeout=5):
        self.token += 1
        tok = "t%d" % self.token
        msg = {"command": cmd, "token": tok}
        if params is not None:
            msg["params"] = params
        line = json.dumps(msg)
        with open(self.log_path, "a") as log:
            log.write(">> " + line + "\n")
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise TestFailure("the ctrl_tcp bridge is gone (baresip exited?) sending %s" % cmd)
        r = self.wait(lambda m: m.get("response") and m.get("token") == tok, timeout,
                      "the response to %r" % cmd)
        if not r.get("ok"):
            raise TestFailure("baresip refused command %r: %s" % (cmd, r))
        return r.get("data", "")


def parse_audio_debug(text):
    """Figures from baresip's audio_debug (stream + RTP/RTCP debug of the current call)."""
    out = {"rx_time": 0.0, "tx_time": 0.0}
    tx, _, rx = text.partition(" rx:")
    m = re.search(r"time = ([0-9.]+) sec", tx)
    out["tx_time"] = float(m.group(1)) if m else 0.0
    m = re.search(r"time = ([0-9.]+) sec", rx)
    out["rx_time"] = float(m.group(1)) if m else 0.0
    m = re.search(r"mnat: (\S+) \(connected=(\w+)\)", text)
    out["mnat"], out["mnat_connected"] = (m.group(1), m.group(2) == "yes") if m else (None, False)
    m = re.search(r"menc: (.*?) \(secure=(\w+)\)", text)
    out["menc"], out["secure"] = (m.group(1), m.group(2) == "yes") if m else (None, False)
    m = re.search(r"TX: packets=(\d+)", text)
    out["tx_packets"] = int(m.group(1)) if m else 0
    out["rx_packets"] = sum(int(x) for x in re.findall(r"rcvd=(\d+)", text))
    m = re.search(r"remote: (\S+)", text)
    out["remote"] = m.group(1) if m else None
    return out


class Test:
    def __init__(self, args):
        self.args = args
        self.direction = args.direction
        self.dtls = args.mediaenc == "dtls_srtp"
        self.sdes = args.mediaenc == "srtp-mand"  # SDES (a=crypto), baresip's srtp module
        # icegate's own per-call capture (--icegate-capture; linphone_call.py reuses this class
        # without the option)
        self.icegate_capture = getattr(args, "icegate_capture", False)
        self.tls = args.sip_transport == "tls"     # SIP between baresip and icegate over TLS
        self.name = "baresip.%s.%s%s%s" % (self.direction,
                                           "dtls" if self.dtls else "sdes" if self.sdes else "rtp",
                                           "" if args.rtcp_mux == "yes" else ".no-rtcp-mux",
                                           ".tls" if self.tls else "")
        tag = os.getpid()
        self.ns_gw, self.ns_ph = "igw-%d" % tag, "iph-%d" % tag
        self.if_gw, self.if_ph = "vgw%d" % tag, "vph%d" % tag
        self.work = tempfile.mkdtemp(prefix="icegate-baresip-")
        self.procs = []          # (name, Popen) in start order
        self.proc_ns = {}        # name -> the network namespace it was spawned in
        self.icegate = None
        self.ctrl = None
        self.netns_made = []
        self.figures = []        # evidence lines printed at the end
        self.call_id = "baresip-test-%d@127.0.0.1" % tag
        self.capture = None
        self.trace = None        # baresip's SIP trace (-s), parsed: the TLS variant's SIP view
        self.cert_dir = None     # the TLS variant's certificate (ice_phone --make-cert)

    # -- small helpers -------------------------------------------------------------------------
    def path(self, name):
        return os.path.join(self.work, name)

    def check(self, cond, what):
        if not cond:
            raise TestFailure(what)

    def fig(self, text):
        self.figures.append(text)
        print("  " + text, flush=True)

    def ip(self, *argv, check=True):
        r = subprocess.run(["ip"] + list(argv), capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise TestFailure("ip %s: %s" % (" ".join(argv), (r.stderr or r.stdout).strip()))
        return r

    def spawn(self, name, ns, cmd, stdin=subprocess.DEVNULL, pipe_out=False, env=None):
        out_path = self.path(name + ".out")
        with open(out_path, "a") as f:
            f.write("$ ip netns exec %s %s\n" % (ns, " ".join(map(str, cmd))))
        out = subprocess.PIPE if pipe_out else open(out_path, "a")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(c) for c in cmd], stdin=stdin,
                             stdout=out, stderr=subprocess.STDOUT if not pipe_out else out,
                             cwd=self.work, start_new_session=True, preexec_fn=_die_with_parent,
                             env=env,
                             text=pipe_out, bufsize=1 if pipe_out else -1)
        if not pipe_out:
            out.close()
        self.procs.append((name, p))
        self.proc_ns[name] = ns
        return p

    def text(self, name, newline=None):
        try:
            with open(self.path(name), errors="replace", newline=newline) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def alive(self, *names):
        """Raises when a process this test depends on has exited unexpectedly."""
        for n, p in self.procs:
            if (not names or n in names) and p.poll() is not None:
                raise TestFailure("%s exited unexpectedly with %s (its output is below)"
                                  % (n, p.returncode))

    def wait_text(self, name, pattern, timeout, what=None, alive=()):
        rx = re.compile(pattern)

        def seen():
            if alive:
                self.alive(*alive)
            return rx.search(self.text(name))
        m = poll(seen, timeout)
        if not m:
            raise TestFailure("timed out after %s s waiting for %s (/%s/ in %s)"
                              % (timeout, what or "a line", pattern, name))
        return m

    def wait_listening(self, name, proto, ip, port, timeout=15, alive=()):
        """Until the process `name` (spawned in `ns`) has its proto socket on ip:port, read in
        that process's own namespace (harness.wait_listening): before `ip netns exec` has entered
        the namespace, /proc/PID/net shows the root namespace's sockets, which must not count."""
        proc, ns = self.proc_of(name)
        wait_listening(proto, ip, port, proc=proc, netns=ns, timeout=timeout,
                       alive=(lambda: self.alive(*alive)) if alive else None, what=name)

    def proc_of(self, name):
        """(Popen, namespace) of the process spawned as `name`."""
        for n, p in self.procs:
            if n == name:
                return p, self.proc_ns[n]
        raise TestFailure("no process %s was started" % name)

    # -- life cycle ----------------------------------------------------------------------------
    def preflight(self):
        missing = [t for t in ("baresip", "sipp", "ip") if not shutil.which(t)]
        if missing:
            return "not installed: %s (apt-get install baresip-core sip-tester iproute2)" % ", ".join(missing)
        mods = [m for m in BARESIP_MODULES if not os.path.exists("%s/%s.so" % (MODULE_DIR, m))]
        if mods:
            return "baresip modules missing in %s: %s" % (MODULE_DIR, ", ".join(mods))
        if os.geteuid() != 0:
            return "needs root (network namespaces, veth)"
        if self.tls:
            with open(shutil.which("baresip"), "rb") as f:
                exe = f.read()
            if b"sip_certificate" not in exe or b"tls_alloc" not in exe:
                return "this baresip is built without SIP/TLS (no sip_certificate/tls_alloc)"
        probe = "igprobe-%d" % os.getpid()
        if self.ip("netns", "add", probe, check=False).returncode != 0:
            return "cannot create network namespaces here (needs CAP_SYS_ADMIN)"
        self.ip("netns", "del", probe, check=False)
        return None

    def remove_stale_namespaces(self):
        """Namespaces of earlier runs that were killed before their cleanup (SIGKILL)."""
        r = self.ip("netns", "list", check=False)
        for line in r.stdout.splitlines():
            m = re.match(r"(i(?:gw|ph)-(\d+))\b", line)
            if not m or int(m.group(2)) == os.getpid():
                continue
            try:
                with open("/proc/%s/stat" % m.group(2)) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        continue    # its driver is still running
            except (FileNotFoundError, IndexError):
                pass
            pids = self.ip("netns", "pids", m.group(1), check=False).stdout.split()
            self.ip("netns", "del", m.group(1), check=False)
            print("note: removed stale namespace %s%s" % (
                m.group(1), " (processes still inside: %s)" % " ".join(pids) if pids else ""))

    def make_network(self):
        for ns in (self.ns_gw, self.ns_ph):
            self.ip("netns", "add", ns)
            self.netns_made.append(ns)
            self.ip("-n", ns, "link", "set", "lo", "up")
        self.ip("link", "add", self.if_gw, "netns", self.ns_gw, "type", "veth", "peer", "name",
                self.if_ph, "netns", self.ns_ph)
        self.ip("-n", self.ns_gw, "addr", "add", "%s/%d" % (GW_IP, NET_BITS), "dev", self.if_gw)
        self.ip("-n", self.ns_ph, "addr", "add", "%s/%d" % (PHONE_IP, NET_BITS), "dev", self.if_ph)
        self.ip("-n", self.ns_gw, "link", "set", self.if_gw, "up")
        self.ip("-n", self.ns_ph, "link", "set", self.if_ph, "up")

    def cleanup(self):
        if self.ctrl is not None:
            try:
                self.ctrl.proc.stdin.close()
            except Exception:
                pass
        for name, p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for ns in self.netns_made:
            self.ip("netns", "del", ns, check=False)
        self.netns_made = []

    def dump(self):
        print("---- work directory: %s" % self.work)
        if self.capture is not None:
            print(self.capture.summary())
        if self.tls:
            try:
                self.trace = self.trace or BaresipTrace(self.text("baresip.out", newline=""))
                print(self.trace.summary())
            except Exception as e:
                print("(baresip's SIP trace could not be parsed: %s)" % e)
        skip = (".xml", ".pcap", ".wav", ".in")
        for fn in sorted(os.listdir(self.work)):
            p = self.path(fn)
            if not os.path.isfile(p) or fn.endswith(skip) or fn in ("config", "accounts"):
                continue
            t = self.text(fn)
            if len(t) > 30000:
                t = "...(cut)...\n" + t[-30000:]
            print("---- %s ----\n%s" % (fn, t))

    # -- icegate -------------------------------------------------------------------------------
    def icegate_config(self):
        tree = ET.parse(os.path.join(self.args.source, "conf", "icegate.xml"))
        root = tree.getroot()
        root.find("logging").set("level", "debug")
        for listener in root.find("sip").findall("listener"):
            listener.set("address", GW_IP)
        if self.tls:
            ET.SubElement(root.find("sip"), "listener", name="tls-gw", transport="tls",
                          address=GW_IP, port=str(TLS_PORT),
                          certificate=os.path.join(self.cert_dir, "cert.pem"),
                          **{"private-key": os.path.join(self.cert_dir, "key.pem")})
        media = root.find("media")
        media.set("address", GW_IP)
        media.set("rtp-min", str(ICEGATE_RTP[0]))
        media.set("rtp-max", str(ICEGATE_RTP[1]))
        media.set("ice-timeout", "10s")
        media.set("port-quarantine", "0s")
        acl = root.find("acls/acl[@name='local']")
        self.check(acl is not None, "conf/icegate.xml has no ACL named 'local'")
        ET.SubElement(acl, "whitelist", cidr="10.201.0.0/%d" % NET_BITS)
        trunk = root.find("trunks/trunk")
        trunk.set("options-interval", "0s")   # sipp plays one scenario, no OPTIONS
        for a in trunk.findall("address"):
            trunk.remove(a)
        ET.SubElement(trunk, "address", host=TRUNK_IP, port=str(TRUNK_SIP_PORT))
        if self.icegate_capture:
            ET.SubElement(root, "capture", directory=self.path("captures"))
        path = self.path("icegate.xml")
        tree.write(path, encoding="UTF-8", xml_declaration=True)
        return path

    def start_icegate(self):
        cfg = self.icegate_config()
        r = subprocess.run([self.args.icegate, "check-config", cfg], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise TestFailure("icegate check-config refused the generated configuration:\n"
                              + r.stdout + r.stderr)
        env = dict(os.environ)   # as in calls/harness.py: a sanitizer report fails the test
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        if self.args.sip_transport == "tls":
            # Sofia-SIP's own TLS leak, suppressed for the TLS variants only (see the file).
            env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(
                self.args.source, "tests", "integration", "lsan-sofia-tls.supp")
        self.icegate = self.spawn("icegate", self.ns_gw, [self.args.icegate, "run", "-c", cfg],
                                  env=env)
        self.wait_text("icegate.out", r"SIP listener \S+: udp %s:5060" % re.escape(GW_IP), 15,
                       "icegate's UDP listener", alive=("icegate",))
        if self.tls:
            self.wait_text("icegate.out", r"listening on sips:%s:%d \(tls-gw\)"
                           % (re.escape(GW_IP), TLS_PORT), 15, "icegate's TLS listener",
                           alive=("icegate",))
        self.wait_text("icegate.out", r"icegate is up", 15, "icegate is up", alive=("icegate",))
        # Ready: each SIP listener of the configuration is a socket of this icegate.
        for listener in ET.parse(cfg).getroot().find("sip").findall("listener"):
            transport = listener.get("transport", "udp")
            port = int(listener.get("port", TLS_PORT if transport == "tls" else 5060))
            self.wait_listening("icegate", "udp" if transport == "udp" else "tcp",
                                listener.get("address"), port)

    def make_certificate(self):
        """The TLS variant's certificate (self-signed ECDSA, ice_phone --make-cert): icegate's
        TLS listener serves it, baresip trusts it (sip_cafile) and presents it (sip_certificate,
        cert + key in one PEM file: libre loads both from that one file)."""
        self.cert_dir = self.path("tls-cert")
        os.makedirs(self.cert_dir)
        r = subprocess.run([self.args.ice_phone, "--make-cert", self.cert_dir],
                           capture_output=True, text=True, timeout=30)
        self.check(r.returncode == 0 and r.stdout.startswith("sha-256 "),
                   "ice_phone --make-cert failed (%s): %s%s" % (r.returncode, r.stdout, r.stderr))
        for f in ("cert.pem", "key.pem"):
            self.check(os.path.isfile(os.path.join(self.cert_dir, f)),
                       "ice_phone --make-cert wrote no %s" % f)
        with open(os.path.join(self.cert_dir, "baresip.pem"), "w") as out:
            for f in ("cert.pem", "key.pem"):
                with open(os.path.join(self.cert_dir, f)) as src:
                    out.write(src.read())
        self.fig("TLS certificate (ice_phone --make-cert): %s" % r.stdout.strip())

    def stop_icegate(self):
        p, self.icegate = self.icegate, None
        if p is None or p.poll() is not None:
            return p.returncode if p else 0
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return -9

    # -- capture -------------------------------------------------------------------------------
    def start_capture(self):
        pcap = self.path("phone-veth.pcap")
        self.spawn("capture", self.ns_ph, [sys.executable, "-u", os.path.abspath(__file__),
                                           "--capture", self.if_ph, pcap])
        self.wait_text("capture.out", r"capturing on", 15, "the packet capture to start",
                       alive=("capture",))
        return pcap

    def stop_capture(self):
        for name, p in self.procs:
            if name == "capture" and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    raise TestFailure("the packet capture did not stop on SIGTERM")
                self.check(p.returncode == 0, "the packet capture failed (exit %s)" % p.returncode)

    # -- baresip -------------------------------------------------------------------------------
    def start_baresip(self):
        conf_dir = self.path("baresip")
        os.makedirs(conf_dir)
        self.snd_dir = self.path("snd")
        os.makedirs(self.snd_dir)
        values = {"phone_ip": PHONE_IP, "rtp_ports": PHONE_RTP, "rtcp_mux": self.args.rtcp_mux,
                  "ctrl_port": CTRL_PORT, "snd_path": self.snd_dir, "user": USER,
                  "gateway_ip": GW_IP, "password": PASSWORD,
                  "mediaenc": ";mediaenc=" + self.args.mediaenc if self.args.mediaenc != "none"
                  else "",
                  "uri_params": ";transport=tls" if self.tls else "",
                  "sip_tls": "sip_certificate\t\t%s\nsip_cafile\t\t%s\n"
                  % (os.path.join(self.cert_dir, "baresip.pem"),
                     os.path.join(self.cert_dir, "cert.pem")) if self.tls else ""}
        for src, dst in (("baresip.config.in", "config"), ("accounts.in", "accounts")):
            with open(os.path.join(HERE, src)) as f:
                text = string.Template(f.read()).substitute(values)
            with open(os.path.join(conf_dir, dst), "w") as f:
                f.write(text)
            with open(self.path("baresip-" + dst + ".txt"), "w") as f:  # shown on failure
                f.write(text)
        # -s: baresip traces every SIP message it sends and receives (decrypted, with the
        # transport): with TLS the capture cannot see them, this trace is the SIP witness.
        self.spawn("baresip", self.ns_ph, ["baresip", "-f", conf_dir] + (["-s"] if self.tls else []))
        # Ready: its SIP socket (icegate calls it there) and ctrl_tcp (the bridge's peer).
        self.wait_listening("baresip", "udp", PHONE_IP, 5060, alive=("icegate",))
        self.wait_listening("baresip", "tcp", "127.0.0.1", CTRL_PORT, alive=("icegate",))
        bridge = self.spawn("ctrl", self.ns_ph,
                            [sys.executable, "-u", os.path.abspath(__file__), "--ctrl-bridge",
                             "127.0.0.1:%d" % CTRL_PORT, "--bridge-deadline", "15"],
                            stdin=subprocess.PIPE, pipe_out=True)
        self.ctrl = Ctrl(bridge, self.path("ctrl.log"))
        m = self.ctrl.wait(lambda m: m.get("bridge") in ("connected", "error"), 20,
                           "the ctrl_tcp bridge to connect", alive=lambda: self.alive("baresip"))
        self.check(m["bridge"] == "connected", "cannot reach baresip's ctrl_tcp: %s" % m)
        # Registration: icegate's registrar logs the binding (the REGISTER_OK event may have
        # fired before the bridge connected, so the log is the reliable witness).
        self.wait_text("icegate.out", r"REGISTER %s from %s:%s: 1 binding"
                       % (USER, re.escape(PHONE_IP), r"\d+/tls" if self.tls else r"5060\S*"), 15,
                       "baresip's registration%s" % (" over TLS" if self.tls else ""),
                       alive=("icegate", "baresip"))
        self.wait_text("baresip.out", r"200 OK .*\[1 binding\]", 5,
                       "baresip to see its REGISTER accepted", alive=("baresip",))

    def audio_debug(self):
        text = self.ctrl.command("audio_debug")
        with open(self.path("audio_debug.txt"), "w") as f:
            f.write(text)
        return parse_audio_debug(text)

    def wait_media(self, seconds, timeout):
        """Polls baresip until it has decoded `seconds` of received audio (and, with DTLS, the
        stream is secure). Returns the last audio_debug figures."""
        last = {}

        def enough():
            self.alive("icegate", "baresip", "trunk")
            last.update(self.audio_debug())
            return (last["rx_time"] >= seconds and last["mnat_connected"]
                    and (last["secure"] or not self.dtls))
        if not poll(enough, timeout, interval=0.25):
            raise TestFailure("media did not flow: after %s s baresip has decoded %.2f s of "
                              "received audio (needed %.1f); ICE connected=%s, menc=%s secure=%s, "
                              "RTP tx %d rx %d packets, remote %s"
                              % (timeout, last.get("rx_time", 0), seconds,
                                 last.get("mnat_connected"), last.get("menc"), last.get("secure"),
                                 last.get("tx_packets", 0), last.get("rx_packets", 0),
                                 last.get("remote")))
        return dict(last)

    def quit_baresip(self):
        for name, p in self.procs:
            if name == "baresip" and p.poll() is None:
                try:
                    self.ctrl.command("quit", timeout=3)
                except TestFailure:
                    pass
                if not poll(lambda: p.poll() is not None, 10):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()

    # -- sipp ----------------------------------------------------------------------------------
    def sipp(self, name, scenario, extra):
        cmd = ["sipp", "-sf", os.path.join(HERE, scenario), "-i", TRUNK_IP, "-p", TRUNK_SIP_PORT,
               "-mi", TRUNK_IP, "-mp", TRUNK_MEDIA_PORT, "-rtp_echo", "-m", 1, "-nostdin",
               "-trace_msg", "-message_file", self.path(name + ".messages"),
               "-trace_err", "-error_file", self.path(name + ".errors"),
               "-timeout", "25s", "-timeout_error", "-default_behaviors", "all,-bye",
               "-max_recv_loops", 1000] + list(extra)
        p = self.spawn(name, self.ns_gw, cmd)
        # Ready before icegate sends it anything: a trunk that is not listening yet costs the
        # call (ICMP port unreachable, icegate answers the phone 503).
        self.wait_listening(name, "udp", TRUNK_IP, TRUNK_SIP_PORT, alive=("icegate",))
        self.wait_listening(name, "udp", TRUNK_IP, TRUNK_MEDIA_PORT, alive=("icegate",))
        return p

    def sipp_done(self, name, p, timeout=15):
        if not poll(lambda: p.poll() is not None, timeout):
            raise TestFailure("sipp %s did not finish within %s s" % (name, timeout))
        self.check(p.returncode == 0, "sipp %s exited %d: its scenario failed (a missing or "
                   "unexpected message, or a failed SDP check on the trunk leg)" % (name, p.returncode))

    # -- the call ------------------------------------------------------------------------------
    def run(self):
        t0 = time.monotonic()
        print("[%s] work directory %s, namespaces %s / %s" % (self.name, self.work, self.ns_gw,
                                                               self.ns_ph), flush=True)
        self.make_network()
        if self.tls:
            self.make_certificate()
        pcap = self.start_capture()
        self.start_icegate()
        self.start_baresip()
        print("  setup done in %.1f s (icegate up, baresip registered)" % (time.monotonic() - t0))
        if self.icegate_capture:
            self.arm_icegate_capture()

        if self.direction == "phone_to_trunk":
            trunk = self.sipp("trunk", "trunk_uas.xml", [])
            self.ctrl.command("dial", DIAL)
        else:
            trunk = self.sipp("trunk", "trunk_uac.xml",
                              ["-s", USER, "-cid_str", self.call_id, "%s:5060" % GW_IP])
            # answermode=auto: baresip 1.0 answers at once (no CALL_INCOMING event then).
        # baresip's one outgoing call closed first means it failed: no need to wait out the
        # deadline. (Incoming: a closed call is normal, the refused DTLS-SRTP offer to a plain
        # phone is one; icegate's RTP/AVP retry is another call.)
        fail_on = ("CALL_CLOSED",) if self.direction == "phone_to_trunk" else ()
        est = self.ctrl.wait(lambda m: m.get("event") and m.get("type") in
                             ("CALL_ESTABLISHED",) + fail_on, 10, "event CALL_ESTABLISHED",
                             alive=lambda: self.alive("icegate", "baresip"))
        if est.get("type") == "CALL_CLOSED":
            raise TestFailure("baresip closed the call before it was established: %s"
                              % est.get("param", est))
        want = "outgoing" if self.direction == "phone_to_trunk" else "incoming"
        self.check(est.get("direction") == want, "baresip's established call is %s, expected %s"
                   % (est.get("direction"), want))
        self.wait_text("icegate.out", r"call c\d+: connected", 10, "icegate's 'connected'",
                       alive=("icegate",))
        self.wait_text("icegate.out", r"call c\d+: ICE connected on [AB]", 10,
                       "ICE on the phone leg", alive=("icegate",))
        t_est = time.monotonic()
        stats = self.wait_media(self.args.media_seconds, 12)
        print("  media flowing for %.1f s (decoded by baresip: %.2f s)"
              % (time.monotonic() - t_est, stats["rx_time"]), flush=True)
        self.check_live_call_api()

        if self.direction == "phone_to_trunk":
            self.ctrl.command("hangup")
        else:
            info = subprocess.run(["ip", "netns", "exec", self.ns_gw, sys.executable,
                                   os.path.abspath(__file__), "--send-info",
                                   "%s:%d" % (TRUNK_IP, TRUNK_SIP_PORT), self.call_id],
                                  capture_output=True, text=True, timeout=10)
            self.check(info.returncode == 0, "sending the INFO cue failed: %s" % info.stderr)
        self.ctrl.event("CALL_CLOSED", 10, alive=lambda: self.alive("icegate"))
        self.sipp_done("trunk", trunk)
        closed = self.wait_text("icegate.out", r"call (c\d+): media closed: (.*)", 10,
                                "icegate's per-leg counters", alive=("icegate",))
        if self.icegate_capture:
            self.wait_icegate_capture_done()
        self.quit_baresip()
        self.stop_capture()
        rc = self.stop_icegate()
        self.check(rc == 0, "icegate exited with %s on SIGTERM (crash or sanitizer report?)" % rc)
        print("  call done after %.1f s; checking the evidence" % (time.monotonic() - t0))
        self.capture = Capture(pcap)
        self.verify(est, stats, closed)
        if self.icegate_capture:
            self.check_icegate_capture()
        print("  total %.1f s" % (time.monotonic() - t0))

    def ctl(self, *argv):
        r = subprocess.run(["ip", "netns", "exec", self.ns_gw, self.args.icegate, "ctl", "-c",
                            self.path("icegate.xml"), "--json"] + list(argv),
                           capture_output=True, text=True, timeout=30)
        self.check(r.returncode == 0, "icegate ctl %s failed: %s%s" % (" ".join(argv), r.stdout,
                                                                       r.stderr))
        return json.loads(r.stdout)

    def arm_icegate_capture(self):
        """Issue 12 item 6: icegate's own per-call capture, armed for the phone user's next call
        (so that the INVITE is in it)."""
        armed = self.ctl("capture-next", USER)
        self.check(armed.get("state") == "armed" and armed.get("sip") == "captured",
                   "capture-next must arm a capture that takes SIP off the wire: %s" % armed)

    def wait_icegate_capture_done(self):
        """After the call: the capture closes by itself (the call ended, plus a grace for the
        last answers) and the API says so."""
        deadline = time.monotonic() + 15
        while True:
            listed = self.ctl("captures")["captures"]
            self.check(len(listed) == 1, "the API must list the one capture: %s" % listed)
            c = listed[0]
            if c["state"] == "done":
                break
            self.check(time.monotonic() < deadline, "the capture did not end after the call: %s" % c)
            time.sleep(0.2)
        self.check(c.get("ended_because") == "call ended" and c.get("call") and c["packets"] > 0
                   and c["sip_packets"] >= 8,
                   "the capture must have ended with the call, with its SIP and media: %s" % c)

    def tshark(self, path, *argv, media=False):
        # media: the phone leg's DTLS-SRTP handshake (and its SDP, RTP/SAVPF) make Wireshark take
        # the decrypted payloads for ciphertext. As docs/operations.md tells users: no DTLS, no
        # SDP media conversations, RTP found by its heuristic.
        extra = ["--disable-protocol", "dtls", "-o", "sdp.establish_conversation:FALSE",
                 "-o", "rtp.heuristic_rtp:TRUE"] if media else []
        r = subprocess.run(["tshark", "-n", "-r", path] + extra + list(argv),
                           capture_output=True, text=True, timeout=60)
        self.check(r.returncode == 0, "tshark %s failed: %s" % (" ".join(argv), r.stderr))
        return r.stdout

    def check_icegate_capture(self):
        """The capture file icegate wrote for the call, read with tshark: both legs' SIP dialog
        (and nothing else), ICE and DTLS on the phone leg as they were, and the phone leg's media
        in the clear: every RTP payload the phone sent is the payload icegate sent to the trunk
        (the relay changes nothing but the SRTP), and the reverse."""
        files = sorted(glob.glob(os.path.join(self.path("captures"), "*.pcap")))
        self.check(len(files) == 1, "one capture file expected in %s: %s" % (self.path("captures"),
                                                                              files))
        f = files[0]
        sip = [l.split("\t") for l in self.tshark(
            f, "-Y", "sip", "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.id",
            "-e", "sip.Call-ID", "-e", "sip.CSeq.method", "-e", "sip.Method",
            "-e", "sip.Status-Code").splitlines() if l.strip()]
        call_ids = {r[3] for r in sip}
        self.check(len(call_ids) == 2, "the capture's SIP must be the call's two dialogs (A and B "
                   "leg), nothing else: Call-IDs %s" % sorted(call_ids))
        invites = [r for r in sip if r[5] == "INVITE"]
        byes = [r for r in sip if r[5] == "BYE"]
        oks = [r for r in sip if r[6] == "200" and r[4] in ("INVITE", "BYE")]
        self.check(len({r[3] for r in invites}) == 2 and len({r[3] for r in byes}) == 2 and
                   len(oks) >= 4, "both legs' INVITE, BYE and their 200s must be captured: %s" % sip)
        frames = [(r[0], r[1], r[2]) for r in sip]
        self.check(len(frames) == len(set(frames)),
                   "a SIP packet is in the capture twice (loopback seen both ways?)")
        rtp = [l.split("\t") for l in self.tshark(
            f, "-Y", "rtp && !stun", "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
            "-e", "rtp.payload", media=True).splitlines() if l.strip()]
        from_phone = [r[2] for r in rtp if r[0] == PHONE_IP]
        to_phone = [r[2] for r in rtp if r[1] == PHONE_IP]
        to_trunk = set(r[2] for r in rtp if r[1] == TRUNK_IP)
        self.check(len(from_phone) >= 50 and len(to_phone) >= 50,
                   "the phone leg's RTP must be in the capture: %d from, %d to the phone"
                   % (len(from_phone), len(to_phone)))
        relayed = sum(1 for p in from_phone if p in to_trunk)
        self.check(relayed >= 0.9 * len(from_phone),
                   "the phone's RTP must be in the clear: only %d of %d payloads from the phone "
                   "are the payloads relayed to the trunk" % (relayed, len(from_phone)))
        dtls = self.tshark(f, "-Y", "dtls.handshake.type == 1", "-T", "fields", "-e", "ip.src")
        stun = self.tshark(f, "-Y", "stun", "-T", "fields", "-e", "ip.src")
        if self.dtls:
            self.check(dtls.strip(), "the phone leg's DTLS handshake must be in the capture")
        self.check(stun.strip(), "the phone leg's ICE checks must be in the capture")
        streams = self.tshark(f, "-q", "-z", "rtp,streams", media=True)
        phone_streams = [l for l in streams.splitlines() if PHONE_IP in l]
        self.check(len(phone_streams) >= 2, "tshark -z rtp,streams must list the phone leg's two "
                   "streams:\n%s" % streams)
        self.fig("icegate capture %s: %d SIP messages (%d Call-IDs), %d RTP from / %d to the phone "
                 "in the clear, %d/%d payloads equal to those relayed to the trunk, %d bytes" % (
                     os.path.basename(f), len(sip), len(call_ids), len(from_phone), len(to_phone),
                     relayed, len(from_phone), os.path.getsize(f)))

    def check_live_call_api(self):
        """While the call is up: the control API (through `icegate ctl`, in icegate's namespace)
        lists it with the phone leg's ICE pair and, with DTLS-SRTP, the handshake's state and
        SRTP profile (issue 12)."""
        r = subprocess.run(["ip", "netns", "exec", self.ns_gw, self.args.icegate, "ctl", "-c",
                            self.path("icegate.xml"), "--json", "calls"],
                           capture_output=True, text=True, timeout=30)
        self.check(r.returncode == 0, "icegate ctl calls failed: %s%s" % (r.stdout, r.stderr))
        calls = json.loads(r.stdout)["calls"]
        self.check(len(calls) == 1, "the API must list the one live call: %s" % calls)
        side = "a" if self.direction == "phone_to_trunk" else "b"
        leg = calls[0][side]
        media = leg.get("media", {})
        pair = (media.get("ice") or {}).get("selected_pair") or {}
        self.check(leg.get("kind") == "phone" and str(pair.get("remote", "")).startswith(PHONE_IP + ":"),
                   "the API's phone leg must show the ICE pair toward %s: %s" % (PHONE_IP, leg))
        self.check(media.get("packets_in", 0) > 0 and media.get("packets_out", 0) > 0,
                   "the API's phone leg must count packets both ways: %s" % media)
        if self.dtls:
            dtls = media.get("dtls") or {}
            self.check(dtls.get("state") == "connected" and dtls.get("srtp_profile"),
                       "the API's phone leg must show DTLS connected and its SRTP profile: %s" % dtls)
        self.fig("control API during the call: %s leg ICE %s <-> %s%s" % (
            side.upper(), pair.get("local"), pair.get("remote"),
            ", DTLS %s %s" % (media["dtls"]["state"], media["dtls"]["srtp_profile"])
            if self.dtls else ""))

    # -- assertions ----------------------------------------------------------------------------
    def check_sip_phone_calls(self, sipv, phone_name, where):
        """phone -> trunk, SIP-wise: 200 to the phone's INVITE, its ACK and BYE answered, ACK and
        BYE passed on to the trunk. `sipv` is the phone leg's SIP (capture or trace). Returns the
        200 to the INVITE."""
        ok = sipv.sip_find("down", r"SIP/2\.0 200 ", "INVITE")
        self.check(ok, "no 200 OK to the INVITE from icegate to %s %s" % (phone_name, where))
        self.check(sipv.sip_find("up", r"ACK sip:"), "no ACK from %s %s" % (phone_name, where))
        self.check(sipv.sip_find("up", r"BYE sip:"), "no BYE from %s %s" % (phone_name, where))
        self.check(sipv.sip_find("down", r"SIP/2\.0 200 ", "BYE"),
                   "icegate did not answer %s's BYE with 200" % phone_name)
        trunk_msgs = self.text("trunk.messages")
        self.check(re.search(r"(?m)^ACK sip:", trunk_msgs), "the trunk never got the ACK")
        self.check(re.search(r"(?m)^BYE sip:", trunk_msgs),
                   "the trunk never got the BYE icegate had to pass on")
        return ok

    def check_sip_phone_answers(self, sipv, phone_name):
        """trunk -> phone, SIP-wise: the phone's 200, icegate's ACK and the trunk's BYE passed on
        and answered, the trunk's 200. Returns the phone's 200 to the INVITE."""
        ok = sipv.sip_find("up", r"SIP/2\.0 200 ", "INVITE")
        self.check(ok, "%s did not answer icegate's INVITE with 200 (auto-answer)" % phone_name)
        self.check(sipv.sip_find("down", r"ACK sip:"), "no ACK from icegate to %s" % phone_name)
        self.check(sipv.sip_find("down", r"BYE sip:"),
                   "icegate did not pass the trunk's BYE on to %s" % phone_name)
        self.check(sipv.sip_find("up", r"SIP/2\.0 200 ", "BYE"),
                   "%s did not answer the BYE" % phone_name)
        trunk_msgs = self.text("trunk.messages")
        self.check(re.search(r"(?m)^SIP/2\.0 200 OK(?:.|\n)*?CSeq: 1 INVITE", trunk_msgs),
                   "the trunk never got the 200 OK to its INVITE")
        return ok

    def check_plain_dropped(self, phone_name, plain, phone_leg):
        """The phone sent `plain` RTP datagrams in the clear on its DTLS-SRTP leg (before its own
        keys were ready): icegate must have dropped at least as many, as srtp-not-ready (its keys
        were not there yet either) or srtp-auth-failed (they were: plain RTP does not
        authenticate). None may reach the trunk."""
        counts = {k: int(v) for k, v in re.findall(r"(srtp-not-ready|srtp-auth-failed)=(\d+)",
                                                    phone_leg)}
        dropped = sum(counts.values())
        self.fig("NOTE: %s sent %d plain RTP datagrams before its SRTP was ready; icegate "
                 "dropped %s" % (phone_name, plain, counts or "none"))
        self.check(dropped >= plain, "%s sent %d plain RTP packets on the DTLS-SRTP leg, but "
                   "icegate counted only %d srtp-not-ready/srtp-auth-failed drops: plain media "
                   "got through" % (phone_name, plain, dropped))

    def check_icegate_counters(self, closed, phone_name, phone_port_rx):
        """icegate's per-leg counters at the end of the call (`closed`: the 'media closed' match):
        both legs relayed >= MIN_PKTS each way, with the trunk and with the phone. Returns the
        phone leg's part of the line."""
        line = closed.group(2)
        self.fig("icegate: call %s: media closed: %s" % (closed.group(1), line))
        legs = re.findall(r"([AB]) in (\d+) pkts/(\d+) B, out (\d+) pkts", line)
        self.check(len(legs) == 2, "cannot parse icegate's media counters: %s" % line)
        for leg, pin, _, pout in legs:
            self.check(int(pin) >= MIN_PKTS and int(pout) >= MIN_PKTS,
                       "icegate leg %s relayed too little: in %s, out %s packets (< %d)"
                       % (leg, pin, pout, MIN_PKTS))
        self.check(re.search(r"remote %s:%d" % (re.escape(TRUNK_IP), TRUNK_MEDIA_PORT), line),
                   "icegate's trunk leg must have exchanged media with the trunk's %s:%d"
                   % (TRUNK_IP, TRUNK_MEDIA_PORT))
        self.check(re.search(r"remote %s:%s" % (re.escape(PHONE_IP), phone_port_rx), line),
                   "icegate's phone leg must have exchanged media with %s at %s"
                   % (phone_name, PHONE_IP))
        return [part for part in line.split(" | ") if "remote %s:" % PHONE_IP in part][0]

    def check_phone_wire(self, cap):
        """The media datagrams on the phone's veth, both ways, and ICE checks both ways.
        Returns (up, down) as Capture.rtp gives them."""
        up, down = cap.rtp("up"), cap.rtp("down")
        self.fig("phone veth: PCMU datagrams phone->gw %d %s, gw->phone %d %s; kinds up %s down %s"
                 % (len(up), cap.sizes("up"), len(down), cap.sizes("down"), cap.kinds("up"),
                    cap.kinds("down")))
        self.check(len(up) >= MIN_PKTS and len(down) >= MIN_PKTS,
                   "too few media datagrams on the phone's veth: %d up, %d down (< %d)"
                   % (len(up), len(down), MIN_PKTS))
        self.check(cap.kinds("up").get("stun", 0) and cap.kinds("down").get("stun", 0),
                   "no STUN (ICE connectivity checks) in both directions on the phone's veth")
        return up, down

    def verify(self, established, stats, closed):
        cap, log = self.capture, self.text("icegate.out")
        # Where the phone leg's SIP messages are read: the capture, or with TLS (encrypted on
        # the wire) baresip's own SIP trace; the TLS variant checks the wire separately.
        if self.tls:
            self.trace = BaresipTrace(self.text("baresip.out", newline=""))
            sipv, where = self.trace, "in baresip's SIP trace"
            self.verify_tls_signalling(cap, log)
        else:
            sipv, where = cap, "on the phone's veth"

        # (a) the call connected, SIP-wise, on both legs.
        self.fig("baresip: CALL_ESTABLISHED with %s (%s)" % (established.get("peeruri"),
                                                             established.get("direction")))
        if self.direction == "phone_to_trunk":
            phone_at = r"%s:\d+/tls" % re.escape(PHONE_IP) if self.tls else r"%s:5060\S*" % re.escape(PHONE_IP)
            self.check(re.search(r"call c\d+: %s \(phone %s\) -> %s \(trunk pbx\)"
                                 % (USER, phone_at, DIAL), log),
                       "icegate's call line must read '%s (phone %s:%s) -> %s (trunk pbx)'"
                       % (USER, PHONE_IP, "NNNNN/tls" if self.tls else "5060...", DIAL))
            ok = self.check_sip_phone_calls(sipv, "baresip", where)
            sdp_to_phone, sdp_from_phone = ok, sipv.sip_find("up", r"INVITE sip:")
        else:
            self.check(re.search(r"call c\d+: \S+ \(trunk pbx\) -> %s" % USER, log)
                       or re.search(r"call c\d+: .*-> %s \(phone" % USER, log),
                       "icegate's call line must show the trunk calling %s" % USER)
            invite = sipv.sip_find("down", r"INVITE sip:%s@" % USER, last=True)
            self.check(invite, "no INVITE from icegate to baresip " + where)
            if not self.dtls:
                # icegate offers DTLS-SRTP to phones by default; baresip without mediaenc
                # refuses it (488) and icegate must offer plain RTP/AVP + ICE instead.
                self.check(re.search(r"call c\d+: the phone refused the DTLS-SRTP offer \(488\): "
                                     r"offering plain RTP/AVP", log),
                           "icegate must retry the refused DTLS-SRTP offer with plain RTP/AVP")
                first = sipv.sip_find("down", r"INVITE sip:%s@" % USER)
                self.check(first and "UDP/TLS/RTP/SAVPF" in first and
                           "m=audio" in invite and "RTP/AVP" in invite.split("m=audio", 1)[1].split("\r\n", 1)[0],
                           "the first INVITE to the phone must offer DTLS-SRTP, the retry RTP/AVP")
                self.fig("plain phone: DTLS-SRTP offer refused with 488, RTP/AVP offer accepted")
            ok = self.check_sip_phone_answers(sipv, "baresip")
            sdp_to_phone, sdp_from_phone = invite, ok
        self.fig("SIP on the phone leg (%s): " % where.split(" ", 1)[1] + ", ".join(sipv.sip_first_lines()))
        self.fig("trunk sipp scenario passed (exit 0; trunk leg SDP checked: RTP/AVP, no ICE/DTLS)")

        # The phone leg's SDP, both ways.
        m_to = re.search(r"(?m)^m=audio \d+ (\S+)", sdp_to_phone or "")
        m_from = re.search(r"(?m)^m=audio \d+ (\S+)", sdp_from_phone or "")
        self.fig("SDP proto: baresip %s, icegate toward baresip %s; icegate a=fingerprint %s, "
                 "a=setup %s" % (m_from and m_from.group(1), m_to and m_to.group(1),
                                 "yes" if "a=fingerprint:" in (sdp_to_phone or "") else "no",
                                 (re.search(r"a=setup:(\S+)", sdp_to_phone or "") or [None, None])[1]))
        self.check(m_to and m_from, "no m=audio line in the phone leg's SDP (%s)" % where)
        self.check("a=ice-ufrag:" in sdp_to_phone and "a=candidate:" in sdp_to_phone,
                   "icegate's SDP toward baresip must carry ICE credentials and candidates")
        if self.dtls:
            self.check(m_to.group(1).startswith("UDP/TLS/RTP/SAVP"),
                       "icegate's SDP toward baresip must use UDP/TLS/RTP/SAVP(F), got %s"
                       % m_to.group(1))
            self.check(re.search(r"(?m)^a=fingerprint:sha-256 ", sdp_to_phone),
                       "icegate's SDP toward baresip has no a=fingerprint:sha-256")
            self.check(re.search(r"(?m)^a=setup:(active|passive|actpass)", sdp_to_phone),
                       "icegate's SDP toward baresip has no a=setup")
        elif self.sdes:
            self.check(m_to.group(1) == "RTP/SAVP" and "a=crypto:" in sdp_to_phone and
                       "a=fingerprint" not in sdp_to_phone,
                       "SDES variant: icegate must answer RTP/SAVP with a=crypto (no DTLS), got "
                       "%s" % m_to.group(1))
        else:
            self.check(m_to.group(1) == "RTP/AVP", "plain variant: icegate's SDP toward baresip "
                       "must be RTP/AVP, got %s" % m_to.group(1))

        # (b) media both ways: baresip's own receive statistics and decoded audio ...
        self.fig("baresip audio_debug: ICE %s connected=%s, menc %s secure=%s, RTP sent %d, "
                 "received %d, decoded %.2f s, remote %s"
                 % (stats["mnat"], stats["mnat_connected"], stats["menc"], stats["secure"],
                    stats["tx_packets"], stats["rx_packets"], stats["rx_time"], stats["remote"]))
        self.check(stats["mnat"] == "ice" and stats["mnat_connected"],
                   "baresip's ICE did not connect: %s" % stats)
        self.check(stats["tx_packets"] >= MIN_PKTS, "baresip sent only %d RTP packets (< %d)"
                   % (stats["tx_packets"], MIN_PKTS))
        self.check(stats["rx_packets"] >= MIN_PKTS, "baresip received only %d RTP packets (< %d)"
                   % (stats["rx_packets"], MIN_PKTS))
        self.check(stats["remote"] and stats["remote"].startswith(GW_IP + ":"),
                   "baresip's media must go to icegate's %s, remote is %s" % (GW_IP, stats["remote"]))
        decs = sorted(f for f in os.listdir(self.snd_dir) if f.endswith("-dec.wav"))
        self.check(decs, "baresip's sndfile filter wrote no decoded-audio dump (no audio received)")
        secs, loud, freq = analyse_wav(os.path.join(self.snd_dir, decs[-1]))
        self.fig("decoded audio (sndfile dump): %.2f s, %.0f%% of 20 ms frames carry signal, "
                 "%.0f Hz (baresip sends a 440 Hz sine; the trunk echoes it)" % (secs, loud * 100, freq))
        self.check(secs >= self.args.media_seconds - 0.5,
                   "baresip decoded only %.2f s of received audio" % secs)
        self.check(loud >= 0.8, "only %.0f%% of the decoded audio frames carry signal: the echo "
                   "of baresip's sine did not come back intact" % (loud * 100))
        self.check(400 <= freq <= 480, "the decoded audio is not baresip's 440 Hz sine echoed "
                   "back (estimate %.0f Hz)" % freq)

        phone_leg = self.check_icegate_counters(closed, "baresip", r"\d+")
        drops = re.search(r"dropped ([^,]+(?:, [a-z-]+=\d+)*)", phone_leg)
        self.fig("icegate phone-leg drops: %s" % (drops.group(1) if drops else "none"))
        up, down = self.check_phone_wire(cap)

        # (c) encryption on the phone leg.
        dtls_up, dtls_down = cap.dtls("up"), cap.dtls("down")
        hs_up = sum(1 for p in dtls_up if p[0] == 22)
        hs_down = sum(1 for p in dtls_down if p[0] == 22)
        self.fig("DTLS records (first byte 20..63): phone->gw %d (%d handshake), gw->phone %d "
                 "(%d handshake)" % (len(dtls_up), hs_up, len(dtls_down), hs_down))
        same = self.echo_payload_matches(up, down)
        self.fig("echoed payloads identical on both directions of the phone leg: %d of %d"
                 % (same, len(down)))
        if self.sdes:
            self.check(not dtls_up and not dtls_down, "SDES variant: DTLS records on the wire")
            m = re.search(r"call c\d+: SDES-SRTP on leg A \((\S+)\)", log)
            self.check(m, "icegate never logged 'SDES-SRTP on leg A' for the phone leg")
            tag = tag_of(m.group(1))
            for d, pkts in (("phone->gw", up), ("gw->phone", down)):
                wrong = sorted({sz for sz, _ in pkts if sz != PCMU_RTP_LEN + tag})
                self.check(not wrong, "%s: PCMU datagram sizes %s, want only SRTP %s (%d)"
                           % (d, wrong, m.group(1), PCMU_RTP_LEN + tag))
            self.check(same == 0, "%d echoed packets carried the same bytes both ways: the "
                       "phone leg's two directions are not encrypted with different keys" % same)
            self.check(re.search(r"srtp %s in \d+ out \d+" % re.escape(m.group(1)), phone_leg),
                       "icegate's phone-leg counters must show the SDES transform: %s" % phone_leg)
            self.fig("SDES-SRTP on the phone leg: %s, every datagram %d bytes"
                     % (m.group(1), PCMU_RTP_LEN + tag))
        if self.dtls:
            self.check(hs_up and hs_down, "no DTLS handshake records in both directions on the "
                       "phone's veth (phone->gw %d, gw->phone %d)" % (hs_up, hs_down))
            for d, pkts in (("phone->gw", up), ("gw->phone", down)):
                odd = sorted({s for s, _ in pkts
                              if s != PCMU_RTP_LEN and s - PCMU_RTP_LEN not in SRTP_TAGS})
                self.check(not odd, "%s: PCMU datagram sizes %s are neither plain RTP (%d) nor "
                           "SRTP (+%s)" % (d, odd, PCMU_RTP_LEN, sorted(SRTP_TAGS)))
            # What icegate sends to the phone must all be SRTP.
            plain_down = [s for s, _ in down if s == PCMU_RTP_LEN]
            self.check(not plain_down, "gw->phone: %d of %d PCMU datagrams are %d bytes: icegate "
                       "sent plain RTP on a DTLS-SRTP leg" % (len(plain_down), len(down),
                                                               PCMU_RTP_LEN))
            # Plain RTP from the phone must not get through: icegate drops it until the keys are
            # in place (counted as srtp-not-ready), and it must never reach the trunk.
            plain_up = [s for s, _ in up if s == PCMU_RTP_LEN]
            srtp_up = len(up) - len(plain_up)
            self.check(srtp_up >= MIN_PKTS, "phone->gw: only %d SRTP datagrams (< %d)"
                       % (srtp_up, MIN_PKTS))
            if plain_up:
                self.check_plain_dropped("baresip", len(plain_up), phone_leg)
            # RTCP: icegate's must be SRTCP. baresip 1.0 sends its RTCP BYE in the clear after
            # its close_notify at hang-up; icegate drops it or has closed the leg already.
            plain_rtcp_down = [p for p in cap.rtcp("down") if plain_rtcp(p)]
            self.check(not plain_rtcp_down, "gw->phone: %d plain RTCP packets on a DTLS-SRTP leg "
                       "(first: %s)" % (len(plain_rtcp_down), plain_rtcp_down[:1] and
                                        plain_rtcp_down[0].hex()))
            plain_rtcp_up = [p for p in cap.rtcp("up") if plain_rtcp(p)]
            self.fig("RTCP on the phone leg: phone->gw %d (%d plain), gw->phone %d (all SRTCP)"
                     % (len(cap.rtcp("up")), len(plain_rtcp_up), len(cap.rtcp("down"))))
            tags = {SRTP_TAGS[s - PCMU_RTP_LEN] for s, _ in up + down if s != PCMU_RTP_LEN}
            self.fig("SRTP on the phone leg (by datagram size): %s" % ", ".join(sorted(tags)))
            self.check(same == 0, "%d echoed packets carried the same bytes both ways: the "
                       "phone leg's two directions are not encrypted with different keys" % same)

            # Both ends say the same: keys from DTLS, fingerprints verified, same profile.
            icegate_role = "client" if self.direction == "phone_to_trunk" else "server"
            m = re.search(r"call c\d+: DTLS-SRTP up on [AB] \((\S+) (client|server)", log)
            self.check(m, "icegate never logged 'DTLS-SRTP up' for the phone leg")
            suite, role = m.group(1), m.group(2)
            self.fig("icegate: DTLS-SRTP up as %s, %s" % (role, suite))
            self.check(role == icegate_role, "icegate is the DTLS %s, expected %s (it %s)"
                       % (role, icegate_role, "answered a=setup:active to baresip's actpass"
                          if icegate_role == "client" else "offered actpass, baresip answered active"))
            if icegate_role == "server":
                # As the DTLS server icegate picks its own preference among the profiles baresip
                # offers (RFC 5764 §4.1.1): AES-256-GCM first (issue 11 item 4).
                self.check(suite == "AEAD_AES_256_GCM", "icegate as DTLS server must pick "
                           "AEAD_AES_256_GCM from baresip's use_srtp list, got %s" % suite)
            m2 = re.search(r"dtls (?:connected|closed) as %s,.*?srtp (\S+) in (\d+) out (\d+)" % role, phone_leg)
            self.check(m2 and m2.group(1) == suite and int(m2.group(2)) >= MIN_PKTS
                       and int(m2.group(3)) >= MIN_PKTS,
                       "icegate's phone-leg counters must show %s SRTP in and out (>= %d): %s"
                       % (suite, MIN_PKTS, phone_leg))
            self.check(SRTP_TAGS.get(tag_of(suite)) is not None and all(
                s - PCMU_RTP_LEN == tag_of(suite) for s, _ in down),
                "the SRTP datagram sizes on the wire (%s) do not match icegate's suite %s"
                % (cap.sizes("down"), suite))
            bout = self.text("baresip.out")
            self.check(re.search(r"dtls_srtp: verified sha-256 fingerprint OK", bout),
                       "baresip did not verify icegate's certificate against a=fingerprint")
            m3 = re.search(r"DTLS-SRTP complete \(audio/RTP\) Profile=(\S+)", bout)
            self.check(m3 and m3.group(1) == suite, "baresip's DTLS-SRTP profile %s differs from "
                       "icegate's %s" % (m3 and m3.group(1), suite))
            fp = re.search(r"DTLS certificate sha-256 ([0-9A-F:]+)", log)
            sdp_fp = re.search(r"(?m)^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)", sdp_to_phone)
            self.check(fp and sdp_fp and fp.group(1).upper() == sdp_fp.group(1).upper(),
                       "the a=fingerprint icegate sent (%s) is not the certificate it logged (%s)"
                       % (sdp_fp and sdp_fp.group(1), fp and fp.group(1)))
        elif not self.sdes:
            # The control: the same classification must see plain RTP here, or it proves nothing.
            self.check(not dtls_up and not dtls_down, "plain variant, but DTLS records on the wire")
            self.check(set(cap.sizes("up")) == {PCMU_RTP_LEN} and
                       set(cap.sizes("down")) == {PCMU_RTP_LEN},
                       "plain variant: every PCMU datagram must be %d bytes: up %s, down %s"
                       % (PCMU_RTP_LEN, cap.sizes("up"), cap.sizes("down")))
            self.check(same >= MIN_PKTS, "plain variant: the trunk echoes baresip's packets, so "
                       "their payloads must come back unchanged (only %d did)" % same)

    def verify_tls_signalling(self, cap, log):
        """--sip-transport tls: the phone leg's SIP went over icegate's TLS listener, and nothing
        of it is readable on the wire."""
        trace = self.trace
        # icegate's side: the registration and the call came over TLS, from baresip's connection.
        reg = re.search(r"REGISTER %s from %s:(\d+)/tls: 1 binding" % (USER, re.escape(PHONE_IP)), log)
        self.check(reg, "icegate never logged the registration of %s over TLS" % USER)
        port = reg.group(1)
        if self.direction == "phone_to_trunk":
            self.check(re.search(r"call c\d+: %s \(phone %s:%s/tls\) -> " % (USER, re.escape(PHONE_IP),
                                                                          port), log),
                       "icegate's call line must name the phone's TLS connection %s:%s/tls"
                       % (PHONE_IP, port))
        else:
            self.check(re.search(r"call c\d+: .*-> %s \(phone sip:%s@%s:%s;transport=tls\)"
                                 % (USER, USER, re.escape(PHONE_IP), port), log),
                       "icegate must call %s at its TLS binding sip:%s@%s:%s;transport=tls"
                       % (USER, USER, PHONE_IP, port))
        self.fig("icegate: REGISTER %s from %s:%s/tls, the call on that binding"
                 % (USER, PHONE_IP, port))

        # baresip's side: every SIP message it sent or got went over TLS, to or from icegate's
        # TLS port, on that one connection; requests in both directions have a TLS Via.
        self.check(trace.sip, "baresip's SIP trace (-s) is empty")
        hops = sorted(set(trace.hops))
        want = {("TLS", "%s:%s" % (PHONE_IP, port), "%s:%d" % (GW_IP, TLS_PORT)),
                ("TLS", "%s:%d" % (GW_IP, TLS_PORT), "%s:%s" % (PHONE_IP, port))}
        self.check(set(hops) <= want, "baresip's SIP did not all go over its TLS connection to "
                   "%s:%d: %s" % (GW_IP, TLS_PORT, hops))
        for d, t in trace.sip:
            if not t.startswith("SIP/2.0 "):
                via = re.search(r"(?im)^Via:\s*SIP/2\.0/(\w+)", t)
                self.check(via and via.group(1).upper() == "TLS", "%s %s has Via transport %s, "
                           "not TLS" % ("baresip's" if d == "up" else "icegate's",
                                        t.split("\r\n", 1)[0], via and via.group(1)))
        n_up = sum(1 for d, _ in trace.sip if d == "up")
        n_down = len(trace.sip) - n_up
        self.fig("baresip's SIP trace: %d messages sent, %d received, all TLS %s:%s <-> %s:%d"
                 % (n_up, n_down, PHONE_IP, port, GW_IP, TLS_PORT))

        # The wire: no cleartext SIP at all, and TCP only to icegate's TLS port, where both
        # directions are TLS records from the first byte to the last.
        self.check(not cap.plain_sip, "cleartext SIP on the phone's veth with SIP over TLS: %s"
                   % cap.plain_sip[:5])
        self.check(not cap.sip, "%d UDP datagrams on port 5060 between baresip and icegate with "
                   "SIP over TLS" % len(cap.sip))
        other = sorted({(sp, dp) for _, sp, _, dp, _, _, _ in cap.tcp if TLS_PORT not in (sp, dp)})
        self.check(not other, "TCP between baresip and icegate other than to port %d: %s"
                   % (TLS_PORT, other[:5]))
        tls = cap.tls_on(TLS_PORT)
        for d, name, n_msgs in (("up", "phone->gw", n_up), ("down", "gw->phone", n_down)):
            self.check(tls[d], "no TCP data %s on port %d" % (name, TLS_PORT))
            counts = {}
            for conn, c, rest, total in tls[d]:
                self.check(rest == 0, "%s: %d of %d bytes of the TCP stream %s are not TLS records"
                           % (name, rest, total, conn))
                for k, v in c.items():
                    counts[k] = counts.get(k, 0) + v
            self.fig("TLS records on port %d %s: %s (%d connection%s, %d bytes)"
                     % (TLS_PORT, name, ", ".join("%s %d" % kv for kv in sorted(counts.items())),
                        len(tls[d]), "" if len(tls[d]) == 1 else "s",
                        sum(t for _, _, _, t in tls[d])))
            self.check(counts.get("handshake"), "%s: no TLS handshake record on port %d"
                       % (name, TLS_PORT))
            self.check(counts.get("application_data", 0) >= n_msgs,
                       "%s: %d TLS application_data records for the %d SIP messages baresip "
                       "traced" % (name, counts.get("application_data", 0), n_msgs))
        self.fig("no cleartext SIP on the phone's veth (%d UDP/TCP packets checked)" % cap.packets)

    def tls_diagnosis(self):
        """Why a call over TLS failed, when it is the known sips: Contact problem."""
        try:
            trace = BaresipTrace(self.text("baresip.out", newline=""))
        except Exception:
            return None
        # The 2xx to the INVITE first: the dialog's remote target comes from it.
        for d, t in sorted(trace.sip, key=lambda x: not x[1].startswith("SIP/2.0 200 ")):
            m = re.search(r"(?im)^(?:Contact|m):\s*(<?sips:[^\r\n]*)", t)
            if d == "down" and m and re.search(r"(?im)^CSeq:\s*\d+\s+INVITE", t):
                enosys = "session closed: Function not implemented" in self.text("baresip.out")
                return ("icegate's %s carries 'Contact: %s' (the TLS listener's sips: URL) although "
                        "baresip's request and Contact use sip: URIs with transport=tls. baresip "
                        "1.0 (libre: sip_request() refuses any remote target that is not sip:, "
                        "ENOSYS) cannot send in-dialog requests to it%s."
                        % (t.split("\r\n", 1)[0], m.group(1).strip(),
                           ": it logged 'session closed: Function not implemented' and never sent "
                           "the ACK" if enosys else ""))
        return None

    @staticmethod
    def echo_payload_matches(up, down):
        """How many datagrams sent to the phone carry the same RTP payload (after the 12-byte
        header) as one the phone sent: with plain RTP every echo does, with SRTP none."""
        sent = {p[12:] for _, p in up if len(p) > 12}
        return sum(1 for _, p in down if len(p) > 12 and p[12:] in sent)


def run_test(test, args):
    """Preflight (77 = skip), run under the overall budget, clean up on every path; on failure
    print the reason and the logs. Returns the exit code. Shared with ../linphone."""
    reason = test.preflight()
    if reason:
        print("SKIP [%s]: %s" % (test.name, reason))
        shutil.rmtree(test.work, ignore_errors=True)
        return SKIP

    def interrupted(signum, _frame):
        raise TestFailure("interrupted by signal %d%s" % (
            signum, " (the overall budget of %d s ran out)" % args.budget
            if signum == signal.SIGALRM else ""))
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, interrupted)
    signal.alarm(args.budget)
    failure = None
    try:
        test.remove_stale_namespaces()
        test.run()
    except TestFailure as e:
        failure = e
    except Exception as e:  # a bug in the driver is a failure too, with the logs
        import traceback
        traceback.print_exc()
        failure = e
    finally:
        signal.alarm(0)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)   # let the cleanup finish
        if failure and test.capture is None:
            pcap = test.path("phone-veth.pcap")
            try:
                test.stop_capture()
                if os.path.exists(pcap):
                    test.capture = Capture(pcap)
            except Exception:
                pass
        test.cleanup()
    if failure:
        print("FAIL [%s]: %s" % (test.name, failure))
        if getattr(test, "tls", False):
            why = test.tls_diagnosis()
            if why:
                print("  NOTE: " + why)
        test.dump()
        return 1
    if not os.environ.get("ICEGATE_TEST_KEEP"):
        shutil.rmtree(test.work, ignore_errors=True)
    else:
        print("kept %s" % test.work)
    print("PASS [%s]" % test.name)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--icegate")
    ap.add_argument("--source")
    ap.add_argument("--direction", choices=("phone_to_trunk", "trunk_to_phone"))
    ap.add_argument("--mediaenc", choices=("none", "dtls_srtp", "srtp-mand"), default="none")
    ap.add_argument("--rtcp-mux", choices=("yes", "no"), default="yes")
    ap.add_argument("--sip-transport", choices=("udp", "tls"), default="udp",
                    help="SIP between baresip and icegate (tls: icegate's TLS listener on 5061)")
    ap.add_argument("--ice-phone", help="the ice_phone test tool (--make-cert), for tls")
    ap.add_argument("--icegate-capture", action="store_true",
                    help="also check icegate's own per-call capture (ctl capture-next)")
    ap.add_argument("--media-seconds", type=float, default=3.0)
    ap.add_argument("--budget", type=int, default=50, help="overall limit in seconds")
    ap.add_argument("--ctrl-bridge", help=argparse.SUPPRESS)
    ap.add_argument("--bridge-deadline", type=float, default=15, help=argparse.SUPPRESS)
    ap.add_argument("--send-info", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--capture", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ctrl_bridge:
        return ctrl_bridge(args.ctrl_bridge, args.bridge_deadline)
    if args.send_info:
        return send_info(*args.send_info)
    if args.capture:
        return capture(*args.capture)
    if not (args.icegate and args.source and args.direction):
        ap.error("--icegate, --source and --direction are required")
    # Processes run with the work directory as cwd: relative paths would not resolve there.
    args.icegate, args.source = os.path.abspath(args.icegate), os.path.abspath(args.source)
    if args.ice_phone:
        args.ice_phone = os.path.abspath(args.ice_phone)

    if not os.access(args.icegate, os.X_OK):
        print("FAIL: --icegate %s is not an executable" % args.icegate)
        return 1
    if not os.path.isfile(os.path.join(args.source, "conf", "icegate.xml")):
        print("FAIL: --source %s has no conf/icegate.xml" % args.source)
        return 1
    if args.sip_transport == "tls" and not (args.ice_phone and os.access(args.ice_phone, os.X_OK)):
        print("FAIL: --sip-transport tls needs --ice-phone (the ice_phone tool, for its "
              "--make-cert); got %r" % args.ice_phone)
        return 1
    return run_test(Test(args), args)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main())
