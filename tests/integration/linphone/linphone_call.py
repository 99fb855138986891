#!/usr/bin/env python3
"""End to end with a second real softphone: linphonec 5.1 (ICE, DTLS-SRTP with
UDP/TLS/RTP/SAVP, RTCP on its own port) <-> icegate <-> a sipp trunk that echoes RTP, in either
call direction.

The topology, the packet capture, icegate's configuration and the trunk scenarios are those of
../baresip/baresip_call.py, imported from there (its Test class is the base of this one):
    igw-<pid>: icegate (SIP + media on 10.201.0.1) and the sipp trunk (127.0.0.1:5080, RTP echo
               on 127.0.0.1:6000; the namespace's own loopback)
    iph-<pid>: linphonec (SIP on 10.201.0.2:5060, RTP 10.201.0.2:40000, RTCP :40001), driven
               over its stdin; the capture on the phone's veth
Nothing in the root namespace sends to those addresses; every process runs under `ip netns exec`.

    linphone_call.py --icegate BIN --source DIR --direction phone_to_trunk|trunk_to_phone
                     [--media-seconds S] [--budget S]

Exit 0 pass, 1 fail (with every log and a summary of the capture), 77 skip (not root, no network
namespaces, linphonec, sipp or ip missing). ICEGATE_TEST_KEEP=1 keeps the work directory.
"""

import argparse
import math
import os
import re
import shutil
import signal
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "baresip"))
import baresip_call as bc  # noqa: E402  (also puts ../calls on the path for harness)
from harness import TestFailure, poll  # noqa: E402

SKIP = bc.SKIP
GW_IP, PHONE_IP = bc.GW_IP, bc.PHONE_IP
TRUNK_IP, TRUNK_SIP_PORT, TRUNK_MEDIA_PORT = bc.TRUNK_IP, bc.TRUNK_SIP_PORT, bc.TRUNK_MEDIA_PORT
USER, PASSWORD, DIAL = bc.USER, bc.PASSWORD, bc.DIAL
MIN_PKTS, PCMU_RTP_LEN, SRTP_TAGS, tag_of = bc.MIN_PKTS, bc.PCMU_RTP_LEN, bc.SRTP_TAGS, bc.tag_of
PHONE_RTP_PORT = 40000            # linphone's audio RTP port (RTCP on 40001, no rtcp-mux)
DTLS_SRTP_PROFILES = {1: "AES_CM_128_HMAC_SHA1_80", 2: "AES_CM_128_HMAC_SHA1_32",
                      7: "AEAD_AES_128_GCM", 8: "AEAD_AES_256_GCM"}   # RFC 5764 / RFC 7714 ids
TONE_HZ = 440                     # the WAV linphone plays (file mode); the trunk echoes it back


def write_tone(path, seconds, hz=TONE_HZ, rate=8000):
    """A mono 16-bit sine WAV: what linphone sends in file mode ('soundcard use files')."""
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / rate)))
                      for i in range(n))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


class Linphonec:
    """linphonec over its stdin (commands) and stdout (a file, line-buffered with stdbuf)."""

    def __init__(self, test, proc, out_name):
        self.test, self.proc, self.out_name = test, proc, out_name
        self.lock = threading.Lock()

    def command(self, line):
        with open(self.test.path("linphonec-commands.log"), "a") as log:
            log.write("%.3f >> %s\n" % (time.monotonic(), line))
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise TestFailure("linphonec is gone (exit %s) sending %r" % (self.proc.poll(), line))

    def output(self):
        return self.test.text(self.out_name)


def parse_ortp_stats(log):
    """linphone's own RTP statistics of the audio session, as oRTP prints them when the stream
    stops (rtp_stats_display, "AUDIO SESSION'S RTP STATISTICS"): the last block in the log.
    {} when there is none."""
    blocks = log.split("AUDIO SESSION'S RTP STATISTICS")
    if len(blocks) < 2:
        return {}
    text = blocks[-1].split("=====", 1)[0]
    lines = [l.split("ortp-message-", 1)[-1] for l in text.splitlines()]
    out, section = {}, None
    for l in lines:
        m = re.match(r"\s*(\S.*?)?\s+(\d+) (packets|bytes)\s*$", l)
        if not m:
            continue
        label, n, unit = (m.group(1) or "").strip(), int(m.group(2)), m.group(3)
        if label in ("sent", "received"):
            section = label
            out[label + "_" + unit] = n
        elif not label and section:
            key = "%s_%s" % (section, "duplicated" if unit == "packets" else unit)
            out.setdefault(key, n)
        else:
            out[re.sub(r"\W+", "_", label).strip("_") + ("" if unit == "packets" else "_bytes")] = n
    return out


def read_pcap_reassembled(path):
    """baresip_call.read_pcap with IPv4 reassembly: linphone's INVITE with credentials and SDP is
    ~1.5 KB and leaves in two IP fragments; read_pcap alone would take the second fragment for a
    UDP datagram and cut the SDP of the first. Only Ethernet frames (what the capture writes)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4:
        return _read_pcap(path)
    frames, frags, off = [], {}, 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl, total = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0]
        ip = ip[:total]
        flags = struct.unpack("!H", ip[6:8])[0]
        if flags & 0x3FFF == 0:
            frames.append(ip)
            continue
        key = (ip[12:20], ip[4:6], ip[9])
        parts = frags.setdefault(key, {})
        parts[(flags & 0x1FFF) * 8] = (ip[ihl:], bool(flags & 0x2000), ip[:ihl])
        got, pos, last = b"", 0, False
        while pos in parts:
            body, more, _ = parts[pos]
            got += body
            pos += len(body)
            last = not more
            if last:
                break
        if last:
            head = bytearray(parts[0][2])
            head[2:4] = struct.pack("!H", len(head) + len(got))
            head[6:8] = b"\x00\x00"
            frames.append(bytes(head) + got)
            del frags[key]
    tmp = path + ".reassembled"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))  # raw IPv4
        for ip in frames:
            f.write(struct.pack("<IIII", 0, 0, len(ip), len(ip)) + ip)
    try:
        return _read_pcap_raw(tmp)
    finally:
        os.unlink(tmp)


def _read_pcap_raw(path):
    """read_pcap for a LINKTYPE_RAW file: wraps each packet in a fake Ethernet header."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = bytearray(data[:20] + struct.pack("<I", 1)), 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        ip = data[off + 16:off + 16 + incl]
        off += 16 + incl
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        out += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    with open(path, "wb") as f:
        f.write(out)
    return _read_pcap(path)


_read_pcap = bc.read_pcap
bc.read_pcap = read_pcap_reassembled   # Capture (in baresip_call) reads through this name


def stun_roles(cap):
    """What the ICE role attributes on the phone's veth say: per direction, the role attribute
    of each Binding request (ICE-CONTROLLED / ICE-CONTROLLING, + USE-CANDIDATE), and the error
    codes of Binding error responses."""
    out = {"up": [], "down": [], "errors_up": [], "errors_down": []}
    for d in ("up", "down"):
        for _, _, _, p in cap.media[d]:
            if len(p) < 20 or p[0] > 3:
                continue
            mtype = struct.unpack("!H", p[:2])[0]
            attrs, i = {}, 20
            while i + 4 <= len(p):
                at, ln = struct.unpack("!HH", p[i:i + 4])
                attrs[at] = p[i + 4:i + 4 + ln]
                i += 4 + ((ln + 3) // 4) * 4
            if mtype == 0x0001:
                role = ("CONTROLLING" if 0x802A in attrs else
                        "CONTROLLED" if 0x8029 in attrs else "none")
                out[d].append(role + ("+USE-CANDIDATE" if 0x0025 in attrs else ""))
            elif mtype == 0x0111 and 0x0009 in attrs and len(attrs[0x0009]) >= 4:
                e = attrs[0x0009]
                out["errors_" + d].append(e[2] * 100 + e[3])
    return out


def count(items):
    c = {}
    for x in items:
        c[x] = c.get(x, 0) + 1
    return ", ".join("%s x%d" % kv for kv in sorted(c.items())) or "none"


class LinphoneTest(bc.Test):
    def __init__(self, args):
        args.mediaenc, args.rtcp_mux, args.sip_transport, args.ice_phone = (
            "dtls_srtp", "no", "udp", None)
        super().__init__(args)
        shutil.rmtree(self.work, ignore_errors=True)
        self.work = tempfile.mkdtemp(prefix="icegate-linphone-")
        self.name = "linphone.%s.dtls" % self.direction
        self.call_id = "linphone-test-%d@127.0.0.1" % os.getpid()
        self.lp = None

    # -- life cycle ----------------------------------------------------------------------------
    def preflight(self):
        missing = [t for t in ("linphonec", "sipp", "ip", "stdbuf") if not shutil.which(t)]
        if missing:
            return ("not installed: %s (apt-get install --no-install-recommends linphone-nogtk "
                    "sip-tester iproute2 coreutils)" % ", ".join(missing))
        if os.geteuid() != 0:
            return "needs root (network namespaces, veth)"
        probe = "igprobe-%d" % os.getpid()
        if self.ip("netns", "add", probe, check=False).returncode != 0:
            return "cannot create network namespaces here (needs CAP_SYS_ADMIN)"
        self.ip("netns", "del", probe, check=False)
        return None

    def start_linphone(self):
        conf = self.path("linphone")
        for d in ("", ".local/share/linphone", ".config/linphone", "usr-crt"):
            os.makedirs(os.path.join(conf, d), exist_ok=True)
        self.tone = self.path("tone-440.wav")
        write_tone(self.tone, 25)
        self.rec = self.path("linphone-received.wav")
        values = {"user": USER, "password": PASSWORD, "phone_ip": PHONE_IP, "gateway_ip": GW_IP,
                  "rtp_port": PHONE_RTP_PORT, "rtcp_mux": 0, "media_encryption": "dtls",
                  "mandatory": 1, "avpf": self.args.avpf, "conf_dir": conf}
        with open(os.path.join(HERE, "linphonerc.in")) as f:
            text = string.Template(f.read()).substitute(values)
        rc = os.path.join(conf, "linphonerc")
        with open(rc, "w") as f:
            f.write(text)
        with open(self.path("linphonerc.txt"), "w") as f:      # shown on failure
            f.write(text)
        env = dict(os.environ, HOME=conf, XDG_CONFIG_HOME=os.path.join(conf, ".config"),
                   XDG_DATA_HOME=os.path.join(conf, ".local/share"))
        cmd = ["stdbuf", "-oL", "-eL", "linphonec", "-c", rc, "-d", "6",
               "-l", self.path("linphone.log")]
        if self.direction == "trunk_to_phone":
            cmd.append("-a")                     # auto-answer
        p = self.spawn("linphonec", self.ns_ph, cmd, stdin=subprocess.PIPE, env=env)
        self.lp = Linphonec(self, p, "linphonec.out")
        self.wait_text("linphonec.out", r"linphonec> ", 15, "linphonec's prompt",
                       alive=("linphonec",))
        # Ready: its SIP socket (sip_port, all addresses), where icegate calls it.
        self.wait_listening("linphonec", "udp", PHONE_IP, 5060, alive=("icegate",))
        # File mode: linphone plays the tone instead of a microphone and records what it
        # receives (decoded, after SRTP) into a WAV; no sound card is needed at all.
        self.lp.command("soundcard use files")
        self.lp.command("play " + self.tone)
        self.lp.command("record " + self.rec)
        self.wait_text("icegate.out", r"REGISTER %s from %s:5060\S*: 1 binding"
                       % (USER, re.escape(PHONE_IP)), 15, "linphone's registration",
                       alive=("icegate", "linphonec"))

    def quit_linphone(self):
        for name, p in self.procs:
            if name == "linphonec" and p.poll() is None:
                try:
                    self.lp.command("quit")
                    p.stdin.close()
                except (TestFailure, OSError):
                    pass
                if not poll(lambda: p.poll() is not None, 10):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()

    def cleanup(self):
        for name, p in self.procs:
            if name == "linphonec" and p.stdin:
                try:
                    p.stdin.close()
                except OSError:
                    pass
        super().cleanup()

    def dump(self):
        print("---- work directory: %s" % self.work)
        if self.capture is not None:
            print(self.capture.summary())
        skip = (".xml", ".pcap", ".wav", ".in")
        for fn in sorted(os.listdir(self.work)):
            p = self.path(fn)
            if not os.path.isfile(p) or fn.endswith(skip):
                continue
            t = self.text(fn)
            limit = 60000 if fn == "linphone.log" else 30000
            if len(t) > limit:
                t = "...(cut)...\n" + t[-limit:]
            print("---- %s ----\n%s" % (fn, t))

    # -- media while the call runs ---------------------------------------------------------------
    def wait_media(self, pcap, seconds, timeout):
        """Polls the capture until `seconds` of PCMU (SRTP) datagrams went each way between
        linphone and icegate."""
        want = int(seconds * 50)
        last = {}

        def enough():
            self.alive("icegate", "linphonec", "trunk", "capture")
            try:
                cap = bc.Capture(pcap)
            except Exception:
                return False
            last["up"], last["down"] = len(cap.rtp("up")), len(cap.rtp("down"))
            return last["up"] >= want and last["down"] >= want
        if not poll(enough, timeout, interval=0.25):
            raise TestFailure("media did not flow: after %s s the phone's veth has %s PCMU "
                              "datagrams phone->gw and %s gw->phone (needed %d each)"
                              % (timeout, last.get("up"), last.get("down"), want))
        return last

    # -- the call ------------------------------------------------------------------------------
    def run(self):
        t0 = time.monotonic()
        print("[%s] work directory %s, namespaces %s / %s" % (self.name, self.work, self.ns_gw,
                                                               self.ns_ph), flush=True)
        self.make_network()
        pcap = self.start_capture()
        self.start_icegate()
        self.start_linphone()
        print("  setup done in %.1f s (icegate up, linphone registered)" % (time.monotonic() - t0),
              flush=True)

        if self.direction == "phone_to_trunk":
            trunk = self.sipp("trunk", "trunk_uas.xml", [])
            self.lp.command("call " + DIAL)
        else:
            trunk = self.sipp("trunk", "trunk_uac.xml",
                              ["-s", USER, "-cid_str", self.call_id, "%s:5060" % GW_IP])
        # linphonec: "Call N with <uri> connected." (either direction); a failure first ends it.
        m = self.wait_text("linphonec.out", r"Call (\d+) with (.*) connected\.|Call \d+ .*"
                           r"(?:error|declined|ended)[^\n]*", 15, "linphone's call to connect",
                           alive=("icegate", "linphonec"))
        if not m.group(1):
            raise TestFailure("linphone's call failed before it connected: %r" % m.group(0))
        self.connected_line = m.group(0)
        self.wait_text("icegate.out", r"call c\d+: connected", 10, "icegate's 'connected'",
                       alive=("icegate",))
        self.wait_text("icegate.out", r"call c\d+: ICE connected on [AB]", 10,
                       "ICE on the phone leg", alive=("icegate",))
        self.wait_text("icegate.out", r"call c\d+: DTLS-SRTP up on [AB]", 10,
                       "DTLS-SRTP on the phone leg", alive=("icegate",))
        t_est = time.monotonic()
        counts = self.wait_media(pcap, self.args.media_seconds, 12)
        print("  media flowing for %.1f s (phone veth: %d PCMU datagrams up, %d down)"
              % (time.monotonic() - t_est, counts["up"], counts["down"]), flush=True)

        if self.direction == "phone_to_trunk":
            self.lp.command("terminate")
        else:
            info = subprocess.run(["ip", "netns", "exec", self.ns_gw, sys.executable,
                                   os.path.join(HERE, "..", "baresip", "baresip_call.py"),
                                   "--send-info", "%s:%d" % (TRUNK_IP, TRUNK_SIP_PORT),
                                   self.call_id], capture_output=True, text=True, timeout=10)
            self.check(info.returncode == 0, "sending the INFO cue failed: %s" % info.stderr)
        self.wait_text("linphonec.out", r"Call \d+ with .* ended", 10, "linphone's call to end",
                       alive=("icegate",))
        self.sipp_done("trunk", trunk)
        closed = self.wait_text("icegate.out", r"call (c\d+): media closed: (.*)", 10,
                                "icegate's per-leg counters", alive=("icegate",))
        self.wait_text("linphone.log", r"AUDIO SESSION'S RTP STATISTICS(?:.|\n)*?received rtcp", 5, "linphone's RTP statistics in its log")
        self.quit_linphone()
        self.stop_capture()
        rc = self.stop_icegate()
        self.check(rc == 0, "icegate exited with %s on SIGTERM (crash or sanitizer report?)" % rc)
        print("  call done after %.1f s; checking the evidence" % (time.monotonic() - t0))
        self.capture = bc.Capture(pcap)
        self.verify_call(closed)
        print("  total %.1f s" % (time.monotonic() - t0))

    # -- assertions ----------------------------------------------------------------------------
    def verify_call(self, closed):
        cap, log = self.capture, self.text("icegate.out")
        lpout, lplog = self.text("linphonec.out"), self.text("linphone.log")

        # (a) the call connected, SIP-wise, on both legs.
        self.fig("linphonec: %s" % self.connected_line.strip())
        if self.direction == "phone_to_trunk":
            self.check(re.search(r"call c\d+: %s \(phone %s:5060\S*\) -> %s \(trunk pbx\)"
                                 % (USER, re.escape(PHONE_IP), DIAL), log),
                       "icegate's call line must read '%s (phone %s:5060...) -> %s (trunk pbx)'"
                       % (USER, PHONE_IP, DIAL))
            ok = self.check_sip_phone_calls(cap, "linphone", "on the veth")
            sdp_to_phone, sdp_from_phone = ok, cap.sip_find("up", r"INVITE sip:", last=True)
        else:
            self.check(re.search(r"call c\d+: \S+ \(trunk pbx\) -> %s" % USER, log)
                       or re.search(r"call c\d+: .*-> %s \(phone" % USER, log),
                       "icegate's call line must show the trunk calling %s" % USER)
            invite = cap.sip_find("down", r"INVITE sip:%s@" % USER, last=True)
            self.check(invite, "no INVITE from icegate to linphone on the veth")
            ok = self.check_sip_phone_answers(cap, "linphone")
            sdp_to_phone, sdp_from_phone = invite, ok
        self.fig("SIP on the phone's veth: " + ", ".join(cap.sip_first_lines()))
        self.fig("trunk sipp scenario passed (exit 0; trunk leg SDP checked: RTP/AVP, no ICE/DTLS)")

        # The phone leg's SDP, both ways.
        m_to = re.search(r"(?m)^m=audio \d+ (\S+)", sdp_to_phone or "")
        m_from = re.search(r"(?m)^m=audio \d+ (\S+)", sdp_from_phone or "")
        self.check(m_to and m_from, "no m=audio line in the phone leg's SDP")
        setup_to = re.search(r"(?m)^a=setup:(\S+)", sdp_to_phone)
        setup_from = re.search(r"(?m)^a=setup:(\S+)", sdp_from_phone)
        self.fig("SDP proto: linphone %s (a=setup:%s), icegate toward linphone %s (a=setup:%s); "
                 "rtcp-mux linphone %s, icegate %s"
                 % (m_from.group(1), setup_from and setup_from.group(1), m_to.group(1),
                    setup_to and setup_to.group(1),
                    "yes" if "a=rtcp-mux" in sdp_from_phone else "no",
                    "yes" if "a=rtcp-mux" in sdp_to_phone else "no"))
        self.check("a=ice-ufrag:" in sdp_to_phone and "a=candidate:" in sdp_to_phone,
                   "icegate's SDP toward linphone must carry ICE credentials and candidates")
        self.check("a=ice-ufrag:" in sdp_from_phone and "a=candidate:" in sdp_from_phone,
                   "linphone's SDP must carry ICE credentials and candidates")
        self.check(m_from.group(1).startswith("UDP/TLS/RTP/SAVP"),
                   "linphone's SDP must be DTLS-SRTP (UDP/TLS/RTP/SAVP), got %s" % m_from.group(1))
        self.check(m_to.group(1).startswith("UDP/TLS/RTP/SAVP"),
                   "icegate's SDP toward linphone must use UDP/TLS/RTP/SAVP(F), got %s"
                   % m_to.group(1))
        if self.direction == "phone_to_trunk":
            self.check(m_to.group(1) == m_from.group(1), "icegate must answer linphone's %s with "
                       "the same proto, answered %s" % (m_from.group(1), m_to.group(1)))
        self.check(re.search(r"(?m)^a=fingerprint:sha-256 ", sdp_to_phone, re.I),
                   "icegate's SDP toward linphone has no a=fingerprint:sha-256")
        self.check(setup_to, "icegate's SDP toward linphone has no a=setup")
        fp = re.search(r"DTLS certificate sha-256 ([0-9A-F:]+)", log)
        sdp_fp = re.search(r"(?mi)^a=fingerprint:sha-256 ([0-9A-F:]+)", sdp_to_phone)
        self.check(fp and sdp_fp and fp.group(1).upper() == sdp_fp.group(1).upper(),
                   "the a=fingerprint icegate sent (%s) is not the certificate it logged (%s)"
                   % (sdp_fp and sdp_fp.group(1), fp and fp.group(1)))

        # (b) media both ways: linphone's own RTP statistics and recorded audio ...
        st = parse_ortp_stats(lplog)
        self.fig("linphone RTP statistics (oRTP, audio session): %s"
                 % ", ".join("%s=%d" % kv for kv in sorted(st.items())))
        self.check(st.get("sent_packets", 0) >= MIN_PKTS and st.get("received_packets", 0) >= MIN_PKTS,
                   "linphone's own statistics must show >= %d RTP packets sent and received: %s"
                   % (MIN_PKTS, st))
        self.check(os.path.exists(self.rec) and os.path.getsize(self.rec) > 44,
                   "linphone wrote no recording of what it received (%s)" % self.rec)
        secs, loud, freq = bc.analyse_wav(self.rec)
        self.fig("linphone's recording of what it received (file mode): %.2f s, %.0f%% of "
                 "20 ms frames carry signal, %.0f Hz (it plays %d Hz; the trunk echoes it)"
                 % (secs, loud * 100, freq, TONE_HZ))
        self.check(secs >= self.args.media_seconds - 0.5 and loud >= 0.7 and
                   abs(freq - TONE_HZ) <= 40,
                   "linphone's recording is not its %d Hz tone echoed back: %.2f s, %.0f%% "
                   "loud, %.0f Hz" % (TONE_HZ, secs, loud * 100, freq))

        phone_leg = self.check_icegate_counters(closed, "linphone", str(PHONE_RTP_PORT))
        up, down = self.check_phone_wire(cap)

        # (c) DTLS-SRTP on the phone leg.
        dtls_up, dtls_down = cap.dtls("up"), cap.dtls("down")
        hs_up = sum(1 for p in dtls_up if p[0] == 22)
        hs_down = sum(1 for p in dtls_down if p[0] == 22)
        ports = {}
        for d in ("up", "down"):
            for _, sp, dp, p in cap.media[d]:
                if bc.classify(p) == "dtls" and p[0] == 22:
                    k = sp if d == "up" else dp
                    ports[k] = ports.get(k, 0) + 1
        self.fig("DTLS records (first byte 20..63): phone->gw %d (%d handshake), gw->phone %d "
                 "(%d handshake); handshake records by linphone port %s"
                 % (len(dtls_up), hs_up, len(dtls_down), hs_down, ports))
        self.check(hs_up and hs_down, "no DTLS handshake records in both directions on the "
                   "phone's veth (phone->gw %d, gw->phone %d)" % (hs_up, hs_down))
        for d, pkts in (("phone->gw", up), ("gw->phone", down)):
            odd = sorted({s for s, _ in pkts
                          if s != PCMU_RTP_LEN and s - PCMU_RTP_LEN not in SRTP_TAGS})
            self.check(not odd, "%s: PCMU datagram sizes %s are neither plain RTP (%d) nor SRTP "
                       "(+%s)" % (d, odd, PCMU_RTP_LEN, sorted(SRTP_TAGS)))
        plain_down = [s for s, _ in down if s == PCMU_RTP_LEN]
        self.check(not plain_down, "gw->phone: %d of %d PCMU datagrams are %d bytes: icegate sent "
                   "plain RTP on a DTLS-SRTP leg" % (len(plain_down), len(down), PCMU_RTP_LEN))
        plain_up = [s for s, _ in up if s == PCMU_RTP_LEN]
        self.check(len(up) - len(plain_up) >= MIN_PKTS, "phone->gw: only %d SRTP datagrams"
                   % (len(up) - len(plain_up)))
        if plain_up:
            self.check_plain_dropped("linphone", len(plain_up), phone_leg)
        plain_rtcp_down = [p for p in cap.rtcp("down") if bc.plain_rtcp(p)]
        plain_rtcp_up = [p for p in cap.rtcp("up") if bc.plain_rtcp(p)]
        self.fig("RTCP on the phone leg: phone->gw %d (%d plain), gw->phone %d (%d plain)"
                 % (len(cap.rtcp("up")), len(plain_rtcp_up), len(cap.rtcp("down")),
                    len(plain_rtcp_down)))
        self.check(not plain_rtcp_down, "gw->phone: %d plain RTCP packets on a DTLS-SRTP leg"
                   % len(plain_rtcp_down))
        same = self.echo_payload_matches(up, down)
        self.fig("echoed payloads identical on both directions of the phone leg: %d of %d"
                 % (same, len(down)))
        self.check(same == 0, "%d echoed packets carried the same bytes both ways: the phone "
                   "leg's two directions are not encrypted with different keys" % same)

        icegate_role = "client" if self.direction == "phone_to_trunk" else "server"
        m = re.search(r"call c\d+: DTLS-SRTP up on [AB] \((\S+) (client|server)", log)
        self.check(m, "icegate never logged 'DTLS-SRTP up' for the phone leg")
        suite, role = m.group(1), m.group(2)
        self.fig("icegate: DTLS-SRTP up as %s, %s" % (role, suite))
        self.check(role == icegate_role, "icegate is the DTLS %s, expected %s" % (role, icegate_role))
        m2 = re.search(r"dtls (?:connected|closed) as %s,.*?srtp (\S+) in (\d+) out (\d+)" % role,
                       phone_leg)
        self.check(m2 and m2.group(1) == suite and int(m2.group(2)) >= MIN_PKTS
                   and int(m2.group(3)) >= MIN_PKTS,
                   "icegate's phone-leg counters must show %s SRTP in and out (>= %d): %s"
                   % (suite, MIN_PKTS, phone_leg))
        self.check(all(s - PCMU_RTP_LEN == tag_of(suite) for s, _ in down),
                   "the SRTP datagram sizes on the wire (%s) do not match icegate's suite %s"
                   % (cap.sizes("down"), suite))
        drops = re.search(r"dropped ([^,]+(?:, [a-z-]+=\d+)*)", phone_leg)
        self.fig("icegate phone-leg drops: %s" % (drops.group(1) if drops else "none"))
        t_ice = re.search(r"(\d\d:\d\d:\d\d\.\d+) \w+ +\[sip\] call c\d+: ICE connected on", log)
        t_dtls = re.search(r"(\d\d:\d\d:\d\d\.\d+) \w+ +\[sip\] call c\d+: DTLS-SRTP up on", log)
        if t_ice and t_dtls:
            secs = lambda t: sum(float(x) * k for x, k in zip(t.split(":"), (3600, 60, 1)))
            self.fig("icegate: DTLS-SRTP up %.0f ms after ICE connected on the RTP component"
                     % ((secs(t_dtls.group(1)) - secs(t_ice.group(1))) * 1000))
        rtcp_dtls = re.search(r"rtcp dtls (\w+)", phone_leg)
        self.fig("icegate phone leg: %s" % phone_leg.strip())
        self.fig("icegate RTCP DTLS association (linphone has no rtcp-mux): %s"
                 % (rtcp_dtls.group(1) if rtcp_dtls else "not reported"))
        # linphone's side (liblinphone/mediastreamer2 at -d 6, and linphonec's own output):
        # its ICE succeeded, both DTLS handshakes (RTP and, without rtcp-mux, RTCP) finished with
        # the profile icegate reports, it saw icegate's certificate (mediastreamer2 compares it
        # with a=fingerprint before it sets keys) and it calls the call fully encrypted.
        ice = re.findall(r"ICE state is (\w+) for stream#0 \[audio\] in state \[(\w+)\]", lplog)
        ok_states = ("IceStateHostConnection", "IceStateReflexiveConnection",
                     "IceStateRelayConnection")
        running = [st_ for st_, ms in ice if ms == "Running"]
        self.fig("linphone ICE states of the audio stream: %s"
                 % " -> ".join("%s [%s]" % x for x in ice))
        roles = stun_roles(cap)
        self.fig("ICE roles on the wire: linphone's checks %s; icegate's pin-hole requests %s; "
                 "error responses linphone->icegate %s, icegate->linphone %s"
                 % (count(roles["up"]), count(roles["down"]), count(roles["errors_up"]),
                    count(roles["errors_down"])))
        # While the stream runs the state goes InProgress (checks) -> a *Connection state.
        if not (running and running[-1] in ok_states):
            why = ""
            if any(r.startswith("CONTROLLING") for r in roles["down"]) or (
                    roles["up"] and not any("USE-CANDIDATE" in r for r in roles["up"])):
                why = ("\n  DIAGNOSIS: ICE role conflict left icegate (ICE-lite) CONTROLLING and "
                       "linphone (full ICE) CONTROLLED. linphone 5.1 answers icegate's a=ice-lite "
                       "offer in the controlled role (against RFC 8445 6.1.1), icegate's pin-hole "
                       "request (ICE-CONTROLLED) clashes with it, and when linphone's tie-breaker "
                       "wins (it answers 487 Role Conflict) icegate's LiteAgent switches to the "
                       "controlling role (media/ice/agent.cpp handle_response, RFC 8445 7.2.5.1; "
                       "or handle_request 7.3.1.1 when icegate's tie-breaker is the larger) and "
                       "its retransmissions say ICE-CONTROLLING. A lite agent never nominates, so "
                       "linphone, now controlled, waits for a nomination that never comes: its "
                       "checks carry no USE-CANDIDATE and its ICE stays %s for the whole call "
                       "(media flows anyway, on the default candidates)."
                       % (running[-1] if running else "unstarted"))
            raise TestFailure("linphone's ICE did not succeed while the stream ran: %s%s"
                              % (ice, why))
        prof = re.search(r"DTLS Handshake on RTP channel successful, srtp protection profile (\d+)",
                         lplog)
        self.check(prof, "linphone never logged a successful DTLS handshake on its RTP channel")
        lp_suite = DTLS_SRTP_PROFILES.get(int(prof.group(1)), "profile %s" % prof.group(1))
        self.check(re.search(r"DTLS RTCP Handshake successful", lplog),
                   "linphone never logged a successful DTLS handshake on its RTCP channel")
        self.check(lp_suite == suite, "linphone's DTLS-SRTP profile %s differs from icegate's %s"
                   % (lp_suite, suite))
        peer_fp = re.findall(r"DTLS-SRTP peer fingerprint is sha-256 ([0-9A-F:]+)", lplog)
        self.check(peer_fp and all(f.upper() == fp.group(1).upper() for f in peer_fp),
                   "linphone's view of the peer fingerprint %s is not icegate's certificate %s"
                   % (peer_fp, fp.group(1)))
        self.check(re.search(r"All streams are encrypted, key exchanged using DTLS", lplog),
                   "liblinphone never logged 'All streams are encrypted, key exchanged using DTLS'")
        self.check(re.search(r"Call \d+ is fully encrypted", lpout),
                   "linphonec never printed 'Call N is fully encrypted'")
        self.fig("linphone: ICE ok, DTLS on RTP (profile %s = %s) and RTCP done, peer fingerprint = "
                 "icegate's, 'All streams are encrypted, key exchanged using DTLS', linphonec: %s"
                 % (prof.group(1), lp_suite,
                    re.search(r"Call \d+ is fully encrypted[^\n]*", lpout).group(0).strip()))
        early = st.get("sent_packets", 0) - len(up)
        if early > 0:
            self.fig("NOTE: oRTP counted %d more packets sent than reached the wire: the RTP "
                     "linphone produced before its SRTP keys existed (mediastreamer2 drops it)"
                     % early)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--icegate", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--direction", choices=("phone_to_trunk", "trunk_to_phone"), required=True)
    ap.add_argument("--avpf", type=int, default=0, help="linphone's [proxy_0] avpf (0: off)")
    ap.add_argument("--media-seconds", type=float, default=3.0)
    ap.add_argument("--budget", type=int, default=50, help="overall limit in seconds")
    args = ap.parse_args()
    args.icegate, args.source = os.path.abspath(args.icegate), os.path.abspath(args.source)
    if not os.access(args.icegate, os.X_OK):
        print("FAIL: --icegate %s is not an executable" % args.icegate)
        return 1
    if not os.path.isfile(os.path.join(args.source, "conf", "icegate.xml")):
        print("FAIL: --source %s has no conf/icegate.xml" % args.source)
        return 1
    return bc.run_test(LinphoneTest(args), args)


if __name__ == "__main__":
    sys.exit(main())
