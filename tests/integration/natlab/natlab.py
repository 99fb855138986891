#!/usr/bin/env python3
"""Phones behind real NATs (issue 18): a NAT lab of network namespaces this test creates and
deletes, real peers on both sides, icegate in the middle.

    phone namespace  10.88.0.2/24 ----- 10.88.0.1  NAT namespace  203.0.113.1 ----- 203.0.113.10
      sipp phone (desk phone, no ICE)   (nftables masquerade on the     |            icegate (SIP 5060,
        + rtp_peer.py (its RTP)          public side; conntrack)        |              media)
      baresip 1002 (no ICE)                                             |  203.0.113.66  third party
      baresip 1001 (ICE + DTLS-SRTP)                              public namespace: sipp trunk(s)
                                                                    on its own 127.0.0.1:5080/5082
                                                                    with -rtp_echo

Every address exists only inside these namespaces (203.0.113.0/24 is TEST-NET-3: icegate takes it
for a public address, 10.88.0.0/24 for a private one). The phones have a default route via the
NAT; the public side has no route back into the LAN, so only the NAT's mappings reach the phones.

Cases (--case):
  mode-eim      plain masquerade (endpoint-independent mapping)
  mode-random   masquerade random,fully-random (address-and-port-dependent mapping)
  mode-short    plain masquerade, conntrack UDP timeouts 5 s, icegate keep-alive every 2 s
      each: calls both ways with the sipp phone without ICE, baresip without ICE and baresip with
      ICE + DTLS-SRTP; media proven both ways; the phone leg's source is the NAT's public side
      (latched for the phones without ICE). The sipp phone's outgoing call also carries the RTP
      bleed checks (a wrong payload type before media does not latch; after the latch, RTP from
      a third address is dropped, counted and never reaches the trunk).
  long          baresip (ICE + DTLS-SRTP) calls the trunk and holds 90 s (consent kept, its
                post-ICE re-INVITE answered by icegate and not forwarded, ended by its hang-up)
                and at the same time the second trunk (same IP, other port) calls the sipp phone
                and holds 60 s (the phone gets icegate's ACK and the trunk's BYE through the NAT).
  keepalive-on  NAT UDP timeout 20 s, baresip registers for 3600 s, a trunk call 60 s later
                reaches it (icegate's keep-alive every 10 s holds the NAT binding open)
  keepalive-off the same with keepalive="0s": the call cannot reach the phone
  default-config  the shipped conf/icegate.xml, unchanged, in a namespace of its own: a phone on
                the trunk's host (127.0.0.1, another port) registers and calls the trunk.
  patterns      behaviour.md section 9, produced for real: baresip 1001 (ICE+DTLS) calls the
                trunk with an nftables rule in the NAT namespace's forward path dropping UDP to
                icegate's RTP range (pattern 6), then one dropping UDP from it (pattern 1); then
                with a SIP ACL denying the phone (pattern 4, 403) and a remote-candidates ACL
                denying its candidates (pattern 5, 488). icegate's diagnosis line names each.

Exit 0 pass, 1 fail (with the logs), 77 skip (not root, no namespaces, nft, sipp or baresip
missing, conntrack timeouts not settable in a namespace).
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
IT = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(IT, "calls"))
sys.path.insert(0, os.path.join(IT, "baresip"))
from harness import TestFailure, poll, wait_listening, wait_sip_answers  # noqa: E402
from baresip_call import Ctrl, parse_audio_debug, read_pcap, _die_with_parent  # noqa: E402

SKIP = 77
LAN_NET, PHONE_IP, NAT_LAN_IP = "10.88.0.0/24", "10.88.0.2", "10.88.0.1"
NAT_PUB_IP, GW_IP, THIRD_IP = "203.0.113.1", "203.0.113.10", "203.0.113.66"
TRUNK_IP = "127.0.0.1"
TRUNKS = {"pbx": (5080, 6000), "pbx2": (5082, 6010)}   # SIP port, RTP echo port
DIAL = "0049301234"
USERS = {"1001": "1001secret", "1002": "1002secret", "1003": "1003secret"}
SIPP_PHONE = ("1003", 5070, 42000)        # user, SIP port, RTP port (in the phone namespace)
BARESIP = {"1001": dict(sip=5060, ctrl=4444, rtp="40000-40099", ice=True),
           "1002": dict(sip=5062, ctrl=4445, rtp="40100-40199", ice=False)}
WRITE_KV = os.path.join(IT, "calls", "write_kv.sh")
MIN_PKTS = 80


class Lab:
    """The namespaces, icegate and the long-lived peers of one test; cleanup() undoes it all."""

    def __init__(self, args, name):
        self.args, self.name = args, name
        tag = os.getpid()
        self.tag = tag
        self.ns_ph, self.ns_nat, self.ns_pub = "nlph%d" % tag, "nlnat%d" % tag, "nlpub%d" % tag
        self.if_ph, self.if_natl = "nlp%d" % tag, "nll%d" % tag
        self.if_natw, self.if_pub = "nlw%d" % tag, "nlg%d" % tag
        self.work = tempfile.mkdtemp(prefix="icegate-natlab-%s-" % name)
        self.procs = []           # (name, Popen)
        self.proc_ns = {}
        self.netns_made = []
        self.icegate = None
        self.ctrls = {}
        self.notes = []
        self.seq = 0

    # -- helpers ---------------------------------------------------------------------------
    def path(self, n):
        return os.path.join(self.work, n)

    def note(self, text):
        self.notes.append(text)
        print("  " + text, flush=True)

    def check(self, cond, what):
        if not cond:
            raise TestFailure(what)

    def ip(self, *argv, check=True):
        r = subprocess.run(["ip"] + [str(a) for a in argv], capture_output=True, text=True,
                           timeout=10)
        if check and r.returncode != 0:
            raise TestFailure("ip %s: %s" % (" ".join(map(str, argv)), (r.stderr or r.stdout).strip()))
        return r

    def nsrun(self, ns, cmd, check=True, stdin=None):
        r = subprocess.run(["ip", "netns", "exec", ns] + [str(c) for c in cmd], capture_output=True,
                           text=True, timeout=30, input=stdin)
        if check and r.returncode != 0:
            raise TestFailure("in %s: %s: %s" % (ns, " ".join(map(str, cmd)),
                                                 (r.stderr or r.stdout).strip()))
        return r

    def spawn(self, name, ns, cmd, pipe=False, stdin=subprocess.DEVNULL, env=None):
        out_path = self.path(name + ".out")
        with open(out_path, "a") as f:
            f.write("$ ip netns exec %s %s\n" % (ns, " ".join(map(str, cmd))))
        out = subprocess.PIPE if pipe else open(out_path, "a")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(c) for c in cmd], stdin=stdin,
                             stdout=out, stderr=subprocess.STDOUT, cwd=self.work,
                             start_new_session=True, preexec_fn=_die_with_parent, env=env,
                             text=pipe, bufsize=1 if pipe else -1)
        if not pipe:
            out.close()
        self.procs.append((name, p))
        self.proc_ns[name] = ns
        return p

    def text(self, n):
        try:
            with open(self.path(n), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log(self):
        return self.text("icegate.out")

    def alive(self, *procs):
        for p, what in procs:
            if p.poll() is not None:
                raise TestFailure("%s exited unexpectedly with %s" % (what, p.returncode))
        if self.icegate is not None and self.icegate.poll() is not None:
            raise TestFailure("icegate exited unexpectedly with %s" % self.icegate.returncode)

    def wait_log(self, pattern, timeout, what, start=0):
        rx = re.compile(pattern)

        def seen():
            self.alive()
            return rx.search(self.log(), start)
        m = poll(seen, timeout)
        if not m:
            raise TestFailure("timed out after %s s waiting for %s (/%s/ in icegate's log)"
                              % (timeout, what, pattern))
        return m

    def wait_for(self, seconds, *procs, extra=None):
        """Lets `seconds` of a call pass (the time IS what is tested: a call held 60 s), while
        failing at once when icegate or one of `procs` exits, or extra() raises."""
        def done():
            self.alive(*procs)
            if extra:
                extra()
            return False
        poll(done, seconds, interval=0.5)
        self.alive(*procs)

    # -- the network -------------------------------------------------------------------------
    def preflight(self, need_baresip=True):
        missing = [t for t in ("sipp", "ip", "nft") + (("baresip",) if need_baresip else ())
                   if not shutil.which(t)]
        if missing:
            return "not installed: %s (tools/deps test)" % ", ".join(missing)
        if os.geteuid() != 0:
            return "needs root (network namespaces)"
        probe = "nlprobe%d" % os.getpid()
        if self.ip("netns", "add", probe, check=False).returncode != 0:
            return "cannot create network namespaces here"
        self.ip("netns", "del", probe, check=False)
        return None

    def remove_stale(self):
        for line in self.ip("netns", "list", check=False).stdout.splitlines():
            m = re.match(r"(nl(?:ph|nat|pub|def|net|sa|sb)(\d+))\b", line)
            if not m or int(m.group(2)) == os.getpid() or os.path.exists("/proc/%s" % m.group(2)):
                continue
            self.ip("netns", "del", m.group(1), check=False)
            print("note: removed stale namespace %s" % m.group(1))

    def make_network(self, nat_mode="eim", udp_timeout=None):
        for ns in (self.ns_ph, self.ns_nat, self.ns_pub):
            self.ip("netns", "add", ns)
            self.netns_made.append(ns)
            self.ip("-n", ns, "link", "set", "lo", "up")
        self.ip("link", "add", self.if_ph, "netns", self.ns_ph, "type", "veth", "peer", "name",
                self.if_natl, "netns", self.ns_nat)
        self.ip("link", "add", self.if_natw, "netns", self.ns_nat, "type", "veth", "peer", "name",
                self.if_pub, "netns", self.ns_pub)
        self.ip("-n", self.ns_ph, "addr", "add", PHONE_IP + "/24", "dev", self.if_ph)
        self.ip("-n", self.ns_nat, "addr", "add", NAT_LAN_IP + "/24", "dev", self.if_natl)
        self.ip("-n", self.ns_nat, "addr", "add", NAT_PUB_IP + "/24", "dev", self.if_natw)
        self.ip("-n", self.ns_pub, "addr", "add", GW_IP + "/24", "dev", self.if_pub)
        self.ip("-n", self.ns_pub, "addr", "add", THIRD_IP + "/24", "dev", self.if_pub)
        for ns, dev in ((self.ns_ph, self.if_ph), (self.ns_nat, self.if_natl),
                        (self.ns_nat, self.if_natw), (self.ns_pub, self.if_pub)):
            self.ip("-n", ns, "link", "set", dev, "up")
        self.ip("-n", self.ns_ph, "route", "add", "default", "via", NAT_LAN_IP)
        self.nsrun(self.ns_nat, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        flags = {"eim": "", "random": "random,fully-random"}[nat_mode]
        rules = ("table ip nat {\n chain postrouting {\n  type nat hook postrouting priority srcnat;"
                 " policy accept;\n  oifname \"%s\" masquerade %s\n }\n}\n" % (self.if_natw, flags))
        self.nsrun(self.ns_nat, ["nft", "-f", "-"], stdin=rules)
        if udp_timeout is not None:
            r = self.nsrun(self.ns_nat, ["sysctl", "-qw",
                                         "net.netfilter.nf_conntrack_udp_timeout=%d" % udp_timeout,
                                         "net.netfilter.nf_conntrack_udp_timeout_stream=%d" % udp_timeout],
                           check=False)
            if r.returncode != 0:
                raise Skip("conntrack UDP timeouts cannot be set in a namespace here: %s"
                           % r.stderr.strip())
            got = self.nsrun(self.ns_nat, ["sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout",
                                           "net.netfilter.nf_conntrack_udp_timeout_stream"]).stdout.split()
            self.check(got == [str(udp_timeout)] * 2, "conntrack UDP timeouts in the NAT namespace "
                       "are %s, wanted %d" % (got, udp_timeout))
        # A capture on the public side of the NAT: on failure, where icegate's SIP went.
        self.spawn("capture", self.ns_pub, [sys.executable, "-u",
                                            os.path.join(IT, "baresip", "baresip_call.py"),
                                            "--capture", self.if_pub, self.path("public.pcap")])
        if not poll(lambda: "capturing on" in self.text("capture.out"), 15):
            raise TestFailure("the packet capture on the public side did not start")
        self.note("NAT lab: %s -> masquerade %s-> %s%s" % (
            PHONE_IP, flags + " " if flags else "", NAT_PUB_IP,
            ", conntrack UDP timeout %d s" % udp_timeout if udp_timeout else ""))

    def cleanup(self):
        for c in self.ctrls.values():
            try:
                c.proc.stdin.close()
            except Exception:
                pass
        for _, p in reversed(self.procs):
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

    def sip_on_wire(self):
        """SIP over UDP on the NAT's public side: 'time src:port -> dst:port first line'."""
        for name, p in self.procs:
            if name == "capture" and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        path = self.path("public.pcap")
        if not os.path.exists(path):
            return []
        out = []
        for proto, _, src, sport, dst, dport, payload, _, _ in read_pcap(path):
            if proto == "udp" and (payload[:8] == b"SIP/2.0 " or b" SIP/2.0\r\n" in payload[:200]):
                line = payload.split(b"\r\n", 1)[0].decode(errors="replace")
                cseq = re.search(rb"(?im)^CSeq:\s*(\d+ \w+)", payload)
                out.append("%s:%d -> %s:%d  %s  [%s]" % (src, sport, dst, dport, line,
                                                        cseq.group(1).decode() if cseq else "?"))
        return out

    def dump(self):
        print("---- work directory: %s" % self.work)
        try:
            wire = self.sip_on_wire()
            if wire:
                print("---- SIP on the NAT's public side (capture) ----\n" + "\n".join(wire))
        except Exception as e:
            print("(capture not readable: %s)" % e)
        for fn in sorted(os.listdir(self.work)):
            p = self.path(fn)
            if not os.path.isfile(p) or fn.endswith((".xml", ".in")) or fn in ("config", "accounts"):
                continue
            t = self.text(fn)
            if len(t) > 40000:
                t = "...(cut)...\n" + t[-40000:]
            print("---- %s ----\n%s" % (fn, t))

    # -- icegate -----------------------------------------------------------------------------
    def icegate_config(self, keepalive="25s", misses=3, edit=None, file_name="icegate.xml"):
        tree = ET.parse(os.path.join(self.args.source, "conf", "icegate.xml"))
        root = tree.getroot()
        root.find("logging").set("level", "debug")
        if os.environ.get("NATLAB_SOFIA_LEVEL"):   # diagnostics: Sofia-SIP's own log level
            root.find("logging").set("sofia-level", os.environ["NATLAB_SOFIA_LEVEL"])
        sip = root.find("sip")
        for listener in sip.findall("listener"):
            listener.set("address", GW_IP)
        sip.find("registrar").set("keepalive", keepalive)
        sip.find("registrar").set("keepalive-misses", str(misses))
        sip.find("registrar").set("max-expires", "3600s")
        media = root.find("media")
        media.set("address", GW_IP)
        media.set("rtp-min", "30000")
        media.set("rtp-max", "30999")
        media.set("ice-timeout", "10s")
        media.set("port-quarantine", "0s")
        ET.SubElement(root.find("acls/acl[@name='local']"), "whitelist", cidr="203.0.113.0/24")
        users = root.find("users")
        have = {u.get("name") for u in users.findall("user")}
        for u, pw in USERS.items():
            if u not in have:
                ET.SubElement(users, "user", name=u, password=pw)
        trunks = root.find("trunks")
        for t in trunks.findall("trunk"):
            trunks.remove(t)
        for name, (port, _) in TRUNKS.items():
            t = ET.SubElement(trunks, "trunk", name=name, transport="udp")
            t.set("options-interval", "0s")  # sipp plays one scenario, no OPTIONS
            ET.SubElement(t, "address", host=TRUNK_IP, port=str(port))
        if edit:
            edit(root)
        path = self.path(file_name)
        tree.write(path, encoding="UTF-8", xml_declaration=True)
        return path

    def start_icegate(self, cfg, ns=None, ip=None):
        ns, ip = ns or self.ns_pub, ip or GW_IP
        r = subprocess.run([self.args.icegate, "check-config", cfg], capture_output=True,
                           text=True, timeout=30)
        self.check(r.returncode == 0, "icegate check-config refused %s:\n%s%s" % (cfg, r.stdout,
                                                                                r.stderr))
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        start = len(self.log())   # a restarted icegate appends to the same log
        self.icegate = self.spawn("icegate", ns, [self.args.icegate, "run", "-c", cfg], env=env)
        self.wait_log(r"icegate is up", 20, "icegate is up", start)
        for listener in ET.parse(cfg).getroot().find("sip").findall("listener"):
            proto = "udp" if listener.get("transport", "udp") == "udp" else "tcp"
            wait_listening(proto, listener.get("address"), int(listener.get("port", 5060)),
                           proc=self.icegate, netns=ns, alive=lambda: self.alive(), what="icegate")

    def stop_icegate(self):
        p, self.icegate = self.icegate, None
        if p is None or p.poll() is not None:
            return p.returncode if p else 0
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return -9

    # -- sipp --------------------------------------------------------------------------------
    def sipp(self, name, ns, scenario, local_ip, port, remote=None, extra=(), timeout="30s"):
        cmd = ["sipp", "-sf", scenario if os.path.isabs(scenario) else os.path.join(HERE, scenario),
               "-i", local_ip, "-p", port, "-nostdin", "-aa",
               "-trace_msg", "-message_file", self.path(name + ".messages"),
               "-trace_err", "-error_file", self.path(name + ".errors"),
               "-timeout", timeout, "-timeout_error", "-max_recv_loops", 1000,
               "-key", "write_kv", WRITE_KV] + [str(e) for e in extra]
        if remote:
            cmd.append(remote)
        return self.spawn(name, ns, cmd)

    def trunk(self, name, trunk, scenario, extra=(), remote=None, timeout="30s"):
        port, echo = TRUNKS[trunk]
        p = self.sipp(name, self.trunk_ns, os.path.join(IT, "baresip", scenario), TRUNK_IP, port,
                      remote=remote, timeout=timeout,
                      extra=["-mi", TRUNK_IP, "-mp", echo, "-rtp_echo", "-m", 1,
                             "-default_behaviors", "all,-bye"] + list(extra))
        wait_listening("udp", TRUNK_IP, port, proc=p, netns=self.trunk_ns,
                       alive=lambda: self.alive(), what="sipp " + name)
        wait_listening("udp", TRUNK_IP, echo, proc=p, netns=self.trunk_ns,
                       alive=lambda: self.alive(), what="sipp %s (RTP echo)" % name)
        return p

    trunk_ns = property(lambda self: self.ns_pub)

    def sipp_done(self, name, p, timeout=20, expect=0):
        if not poll(lambda: p.poll() is not None, timeout):
            raise TestFailure("sipp %s did not finish within %s s" % (name, timeout))
        if expect is not None:
            self.check(p.returncode == expect, "sipp %s exited %d, expected %d (its scenario "
                       "failed: see %s.errors)" % (name, p.returncode, expect, name))
        return p.returncode

    def send_info(self, ns, addr, call_id):
        self.nsrun(ns, [sys.executable, os.path.join(IT, "baresip", "baresip_call.py"),
                        "--send-info", addr, call_id])

    def wait_kv(self, path, timeout=20, procs=()):
        if not poll(lambda: self.alive(*procs) or os.path.exists(path), timeout):
            raise TestFailure("timed out waiting for %s (written by a sipp <exec>)" % path)
        out = {}
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    out[k] = v
        return out

    # -- the RTP peer --------------------------------------------------------------------------
    def rtp_peer(self, name, ns, local, remote, **kw):
        """rtp_peer.py in `ns`, its output lines collected by a reader thread (a select() on a
        buffered pipe would miss lines already read into the buffer)."""
        cmd = [sys.executable, "-u", os.path.join(HERE, "rtp_peer.py"), "--local", local,
               "--remote", remote]
        for k, v in kw.items():
            cmd += ["--" + k.replace("_", "-"), v]
        p = self.spawn(name, ns, cmd, pipe=True)
        p.lines = []

        def reader():
            with open(self.path(name + ".out"), "a") as f:
                for line in p.stdout:
                    f.write(line)
                    f.flush()
                    p.lines.append(line)
        p.reader = threading.Thread(target=reader, daemon=True)
        p.reader.start()
        line = self._line(p, 10, name, 0)
        self.check('"ready": true' in line, "%s did not start: %s" % (name, line))
        return p

    def _line(self, p, timeout, name, index=1):
        """Output line `index` of an rtp_peer (0: ready, 1: first_rx or the summary)."""
        if not poll(lambda: len(p.lines) > index or (p.poll() is not None and not p.reader.is_alive()),
                    timeout):
            raise TestFailure("%s wrote no line %d within %s s" % (name, index + 1, timeout))
        return p.lines[index] if len(p.lines) > index else ""

    def rtp_result(self, p, name, timeout=90):
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            raise TestFailure("%s did not finish within %s s" % (name, timeout))
        p.reader.join(timeout=10)
        for line in reversed(p.lines):
            if line.startswith('{"sent"'):
                return json.loads(line)
        raise TestFailure("%s printed no summary: %s" % (name, "".join(p.lines)))

    # -- baresip -----------------------------------------------------------------------------
    def start_baresip(self, user, regint=600, account_extra=""):
        b = BARESIP[user]
        d = self.path("baresip-%s" % user)
        os.makedirs(d)
        config = string.Template(CONFIG).substitute(listen="%s:%d" % (PHONE_IP, b["sip"]),
                                                    rtp=b["rtp"], ctrl=b["ctrl"])
        account = "<sip:%s@%s>;auth_pass=%s;%s%saudio_codecs=PCMU/8000/1;answermode=auto;regint=%d\n" % (
            user, GW_IP, USERS[user], "medianat=ice;mediaenc=dtls_srtp;" if b["ice"] else "",
            account_extra, regint)
        with open(os.path.join(d, "config"), "w") as f:
            f.write(config)
        with open(os.path.join(d, "accounts"), "w") as f:
            f.write(account)
        name = "baresip-%s" % user
        p = self.spawn(name, self.ns_ph, ["baresip", "-f", d, "-s"])
        wait_listening("udp", PHONE_IP, b["sip"], proc=p, netns=self.ns_ph,
                       alive=lambda: self.alive(), what=name)
        wait_listening("tcp", "127.0.0.1", b["ctrl"], proc=p, netns=self.ns_ph,
                       alive=lambda: self.alive(), what=name + " ctrl_tcp")
        bridge = self.spawn("ctrl-%s" % user, self.ns_ph,
                            [sys.executable, "-u", os.path.join(IT, "baresip", "baresip_call.py"),
                             "--ctrl-bridge", "127.0.0.1:%d" % b["ctrl"], "--bridge-deadline", "15"],
                            stdin=subprocess.PIPE, pipe=True)
        ctrl = Ctrl(bridge, self.path("ctrl-%s.log" % user))
        m = ctrl.wait(lambda m: m.get("bridge") in ("connected", "error"), 20,
                      "the ctrl_tcp bridge of %s" % name)
        self.check(m["bridge"] == "connected", "cannot reach %s's ctrl_tcp: %s" % (name, m))
        ctrl.baresip = p
        self.ctrls[user] = ctrl
        return ctrl

    def wait_registered(self, user, port, start=0, timeout=20):
        """icegate's registrar saw `user` REGISTER through the NAT (from its public address)."""
        return self.wait_log(r"REGISTER %s from %s:(\d+)\S*: 1 binding" % (user, re.escape(NAT_PUB_IP)),
                             timeout, "%s's REGISTER from the NAT's public address" % user, start)

    def audio_debug(self, user):
        text = self.ctrls[user].command("audio_debug")
        with open(self.path("audio_debug-%s.txt" % user), "w") as f:
            f.write(text)
        return parse_audio_debug(text)

    def wait_media(self, user, seconds, timeout):
        last, ice = {}, BARESIP[user]["ice"]

        def enough():
            self.alive((self.ctrls[user].baresip, "baresip %s" % user))
            last.update(self.audio_debug(user))
            return (last["rx_time"] >= seconds and last["tx_packets"] > 0 and
                    (not ice or (last["mnat_connected"] and last["secure"])))
        if not poll(enough, timeout, interval=0.25):
            raise TestFailure("baresip %s: media did not flow: decoded %.2f s of received audio "
                              "(needed %.1f); ICE connected=%s, secure=%s, RTP tx %d rx %d, remote %s"
                              % (user, last.get("rx_time", 0), seconds, last.get("mnat_connected"),
                                 last.get("secure"), last.get("tx_packets", 0),
                                 last.get("rx_packets", 0), last.get("remote")))
        return dict(last)

    def event_after(self, user, n, types, timeout, what):
        """The first ctrl_tcp event of `types` after the first n messages."""
        ctrl = self.ctrls[user]

        def find():
            self.alive((ctrl.baresip, "baresip %s" % user))
            with ctrl.lock:
                for m in ctrl.msgs[n:]:
                    if m.get("event") and m.get("type") in types:
                        return m
            return None
        m = poll(find, timeout)
        if not m:
            raise TestFailure("baresip %s: no %s within %s s" % (user, what, timeout))
        return m

    def n_msgs(self, user):
        with self.ctrls[user].lock:
            return len(self.ctrls[user].msgs)

    # -- the per-call evidence in icegate's log ------------------------------------------------
    def media_closed(self, start, timeout=15):
        m = self.wait_log(r"call (c\d+): media closed: A (.*?) \| B (.*)", timeout,
                          "the call's 'media closed' counters", start)
        return m.group(1), {"A": m.group(2), "B": m.group(3)}

    @staticmethod
    def leg_counts(leg):
        m = re.match(r"in (\d+) pkts/\d+ B, out (\d+) pkts", leg)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    @staticmethod
    def dropped(leg, reason):
        m = re.search(r"\b%s=(\d+)" % reason, leg)
        return int(m.group(1)) if m else 0

    def check_phone_leg(self, cid, legs, phone_side, latched, sdp=None):
        """The phone leg exchanged media with the NAT's public address (latched there when the
        phone has no ICE), the trunk leg with the trunk, each >= MIN_PKTS both ways."""
        trunk_side = "B" if phone_side == "A" else "A"
        ph, tr = legs[phone_side], legs[trunk_side]
        for side, leg in ((phone_side, ph), (trunk_side, tr)):
            pin, pout = self.leg_counts(leg)
            self.check(pin >= MIN_PKTS and pout >= MIN_PKTS, "call %s leg %s relayed too little: "
                       "in %d, out %d packets (< %d): %s" % (cid, side, pin, pout, MIN_PKTS, leg))
        self.check(re.search(r"remote %s:\d+" % re.escape(NAT_PUB_IP), ph),
                   "call %s: the phone leg %s must exchange media with the NAT's public address "
                   "%s: %s" % (cid, phone_side, NAT_PUB_IP, ph))
        if latched:
            # (The SDP's private address is in the 'behind NAT' line: the leg's signalled
            # destination is already the SIP source address with the SDP port.)
            rx = r"latched %s:\d+" % re.escape(NAT_PUB_IP)
            self.check(re.search(rx, ph), "call %s: the phone leg %s must be latched to the NAT's "
                       "public address (/%s/): %s" % (cid, phone_side, rx, ph))
        else:
            self.check("latched" not in ph and "learning" not in ph,
                       "call %s: an ICE phone leg must not latch: %s" % (cid, ph))
        return ph


class Skip(Exception):
    pass


CONFIG = """poll_method		epoll
sip_listen		${listen}
call_local_timeout	20
call_max_calls		2
audio_player		none,none
audio_source		ausine,440
audio_alert		none,none
ausrc_srate		48000
ausrc_channels		2
rtp_ports		${rtp}
rtcp_mux		yes
jitter_buffer_delay	5-10
rtp_stats		no
statmode_default	off
ctrl_tcp_listen		127.0.0.1:${ctrl}
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			ice.so
module			srtp.so
module			dtls_srtp.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
"""


# ---------------------------------------------------------------------------------------------
# The calls
# ---------------------------------------------------------------------------------------------
def sipp_phone_calls(lab, bleed=True):
    """The desk phone (sipp, no ICE, private SDP address) calls the trunk; its RTP comes from
    rtp_peer.py on the SDP's address and port. With `bleed`: before any media a third address
    sends a packet with a payload type the call never negotiated (must not latch), and once the
    phone's media is latched the third address sends RTP of its own (dropped, counted, never
    relayed to the trunk and back)."""
    user, sip_port, rtp_port = SIPP_PHONE
    start = len(lab.log())
    lab.seq += 1
    kv = lab.path("p2t-%d.kv" % lab.seq)
    trunk = lab.trunk("trunk-p2t-sipp", "pbx", "trunk_uas.xml")
    phone = lab.sipp("phone-p2t", lab.ns_ph, "plain_call.xml", PHONE_IP, sip_port,
                     remote="%s:5060" % GW_IP,
                     extra=["-m", 1, "-s", DIAL, "-au", user, "-ap", USERS[user],
                            "-key", "from_user", user, "-key", "c_ip", PHONE_IP,
                            "-key", "rtp_port", rtp_port, "-key", "outfile", kv])
    v = lab.wait_kv(kv, procs=[(phone, "the sipp phone"), (trunk, "the trunk")])
    lab.check(v["addr"] == GW_IP and v["proto"] == "RTP/AVP",
              "icegate's answer to the plain phone must be RTP/AVP on %s: %s" % (GW_IP, v))
    remote = "%s:%s" % (v["addr"], v["port"])
    if bleed:
        # Before any media: a packet from a third address with payload type 99 (not negotiated).
        b1 = lab.rtp_peer("bleed-pt", lab.ns_pub, "%s:7000" % THIRD_IP, remote, pt=99,
                          ssrc="0badbad0", count=3, interval=0.01, linger=0.2)
        r1 = lab.rtp_result(b1, "bleed-pt")
        lab.check(r1["sent"] == 3, "the third party sent %s packets" % r1)
    ph = lab.rtp_peer("phone-rtp", lab.ns_ph, "%s:%d" % (PHONE_IP, rtp_port), remote,
                      count=200, ssrc="11110001", linger=1.0)
    first = lab._line(ph, 10, "phone-rtp")
    lab.check('"first_rx"' in first, "the phone got no RTP back within 10 s: %s" % first)
    if bleed:
        # After the latch (the phone's own packets come back echoed): RTP from a third address.
        b2 = lab.rtp_peer("bleed-rtp", lab.ns_pub, "%s:7002" % THIRD_IP, remote, pt=0,
                          ssrc="0badbad2", count=50, interval=0.01, linger=0.5)
        r2 = lab.rtp_result(b2, "bleed-rtp")
    res = lab.rtp_result(ph, "phone-rtp")
    lab.send_info(lab.ns_ph, "%s:%d" % (PHONE_IP, sip_port), v["call_id"])
    lab.sipp_done("phone-p2t", phone)
    lab.sipp_done("trunk-p2t-sipp", trunk)
    cid, legs = lab.media_closed(start)
    log = lab.log()[start:]
    lab.check(re.search(r"call %s: phone %s is behind NAT: SIP from %s, SDP says %s"
                        % (cid, user, re.escape(NAT_PUB_IP), re.escape(PHONE_IP)), log),
              "no 'phone %s is behind NAT: SIP from %s, SDP says %s' for call %s"
              % (user, NAT_PUB_IP, PHONE_IP, cid))
    lab.check(res["by_ssrc"].get("11110001", 0) >= MIN_PKTS,
              "the sipp phone got too little of its RTP echoed back: %s" % res)
    a = lab.check_phone_leg(cid, legs, "A", True, "%s:%d" % (PHONE_IP, rtp_port))
    msg = "sipp phone -> trunk: %s; phone got %d of %d echoed" % (a, res["received"], res["sent"])
    if bleed:
        refused, wrong = lab.dropped(a, "latch-refused"), lab.dropped(a, "wrong-source")
        lab.check(refused >= 3, "call %s: the 3 packets with payload type 99 sent before any media "
                  "must be counted as latch-refused on leg A: %s" % (cid, a))
        lab.check(wrong >= 50, "call %s: the 50 RTP packets from the third address %s after the "
                  "latch must be counted as wrong-source on leg A: %s" % (cid, THIRD_IP, a))
        lab.check("0badbad2" not in res["by_ssrc"] and "0badbad0" not in res["by_ssrc"],
                  "the third party's RTP was relayed to the trunk and echoed back to the phone: %s"
                  % res)
        lab.check(r2["received"] == 0, "the third party got media back: %s" % r2)
        msg += "; bleed: latch-refused=%d wrong-source=%d, nothing of it relayed" % (refused, wrong)
    return msg


def sipp_phone_register(lab, expires=600):
    user, sip_port, _ = SIPP_PHONE
    start = len(lab.log())
    lab.seq += 1
    name = "phone-register-%d" % lab.seq
    p = lab.sipp(name, lab.ns_ph, os.path.join(IT, "calls", "phone_register.xml"), PHONE_IP,
                 sip_port, remote="%s:5060" % GW_IP,
                 extra=["-m", 1, "-s", user, "-au", user, "-ap", USERS[user], "-key", "expires",
                        expires])
    lab.sipp_done(name, p)
    lab.wait_registered(user, sip_port, start)


def sipp_phone_answers(lab, hold=0.0, trunk_name="pbx"):
    """The trunk calls the desk phone (sipp, no ICE): icegate offers DTLS-SRTP, the phone refuses
    (488), then plain RTP/AVP, which it answers with its private address. The phone must get
    icegate's ACK (else its 200 retransmissions time out and the scenario fails) and, when the
    trunk hangs up, the BYE. `hold`: seconds the call stays up with media before the hang-up."""
    user, sip_port, rtp_port = SIPP_PHONE
    sipp_phone_register(lab)
    start = len(lab.log())
    lab.seq += 1
    kv = lab.path("t2p-%d.kv" % lab.seq)
    phone = lab.sipp("phone-t2p", lab.ns_ph, "plain_answer.xml", PHONE_IP, sip_port,
                     timeout="%ds" % (hold + 60),
                     extra=["-m", 100, "-key", "c_ip", PHONE_IP, "-key", "rtp_port", rtp_port,
                            "-key", "outfile", kv])
    wait_listening("udp", PHONE_IP, sip_port, proc=phone, netns=lab.ns_ph,
                   alive=lambda: lab.alive(), what="the sipp phone")
    cid_str = "natlab-t2p-%d-%d@trunk" % (os.getpid(), lab.seq)
    tname = "trunk-t2p-sipp-%s" % trunk_name
    trunk = lab.trunk(tname, trunk_name, "trunk_uac.xml", timeout="%ds" % (hold + 40),
                      extra=["-s", user, "-cid_str", cid_str], remote="%s:5060" % GW_IP)
    v = lab.wait_kv(kv, procs=[(phone, "the sipp phone"), (trunk, "the trunk")])
    remote = "%s:%s" % (v["addr"], v["port"])
    lab.check(v["addr"] == GW_IP, "icegate's offer to the phone must name %s: %s" % (GW_IP, v))
    t_answer = time.monotonic()
    count = int((hold + 3) / 0.02)
    ph = lab.rtp_peer("phone-rtp-t2p", lab.ns_ph, "%s:%d" % (PHONE_IP, rtp_port), remote,
                      count=count, ssrc="11110002", linger=1.0)
    first = lab._line(ph, 10, "phone-rtp-t2p")
    lab.check('"first_rx"' in first, "the called phone got no RTP within 10 s: %s" % first)
    ack = lab.wait_kv(kv + ".ack", timeout=15,
                      procs=[(phone, "the sipp phone (no ACK for its 200 within 15 s?)")])
    lab.check(ack.get("ack") == "1", "the phone did not get the ACK")
    if hold:
        lab.wait_for(hold - (time.monotonic() - t_answer), (phone, "the sipp phone"),
                     (trunk, "the trunk"))
    res = lab.rtp_result(ph, "phone-rtp-t2p", timeout=hold + 30)
    lab.send_info(lab.trunk_ns, "%s:%d" % (TRUNK_IP, TRUNKS[trunk_name][0]), cid_str)
    lab.sipp_done(tname, trunk)
    # 97, sipp's exit on an internal command: the scenario's stop_now, reached only after the
    # BYE came (plain_answer.xml); a failed scenario exits 1.
    lab.sipp_done("phone-t2p", phone, expect=97)
    cid, legs = lab.media_closed(start)
    lab.check(res["by_ssrc"].get("11110002", 0) >= MIN_PKTS,
              "the called sipp phone got too little of its RTP echoed back: %s" % res)
    b = lab.check_phone_leg(cid, legs, "B", True, "%s:%d" % (PHONE_IP, rtp_port))
    return ("trunk -> sipp phone%s: ACK and BYE reached the phone; %s; phone got %d of %d echoed"
            % (" (held %.0f s)" % hold if hold else "", b, res["received"], res["sent"]))


def baresip_calls(lab, user, seconds=2.0):
    """baresip `user` calls the trunk (ctrl_tcp dial), media both ways, baresip hangs up."""
    start = len(lab.log())
    trunk = lab.trunk("trunk-p2t-%s" % user, "pbx", "trunk_uas.xml")
    n = lab.n_msgs(user)
    lab.ctrls[user].command("dial", DIAL)
    est = lab.event_after(user, n, ("CALL_ESTABLISHED", "CALL_CLOSED"), 15, "CALL_ESTABLISHED")
    lab.check(est["type"] == "CALL_ESTABLISHED", "baresip %s closed its call: %s" % (user, est))
    stats = lab.wait_media(user, seconds, 15)
    n = lab.n_msgs(user)
    lab.ctrls[user].command("hangup")
    lab.event_after(user, n, ("CALL_CLOSED",), 10, "CALL_CLOSED")
    lab.sipp_done("trunk-p2t-%s" % user, trunk)
    cid, legs = lab.media_closed(start)
    ice = BARESIP[user]["ice"]
    a = lab.check_phone_leg(cid, legs, "A", not ice)
    return "baresip %s%s -> trunk: %s; baresip decoded %.1f s" % (
        user, " (ICE+DTLS)" if ice else " (no ICE)", a, stats["rx_time"])


def baresip_answers(lab, user, seconds=2.0):
    """The trunk calls baresip `user` (auto-answer), media both ways, the trunk hangs up."""
    start = len(lab.log())
    lab.seq += 1
    cid_str = "natlab-%s-%d-%d@trunk" % (user, os.getpid(), lab.seq)
    n = lab.n_msgs(user)
    trunk = lab.trunk("trunk-t2p-%s" % user, "pbx", "trunk_uac.xml",
                      extra=["-s", user, "-cid_str", cid_str], remote="%s:5060" % GW_IP)
    est = lab.event_after(user, n, ("CALL_ESTABLISHED",), 15, "CALL_ESTABLISHED (an incoming "
                          "call is established when icegate's ACK reaches baresip)")
    lab.check(est.get("direction") == "incoming", "baresip %s: %s" % (user, est))
    stats = lab.wait_media(user, seconds, 15)
    n = lab.n_msgs(user)
    lab.send_info(lab.trunk_ns, "%s:%d" % (TRUNK_IP, TRUNKS["pbx"][0]), cid_str)
    lab.event_after(user, n, ("CALL_CLOSED",), 10, "CALL_CLOSED (the trunk's BYE)")
    lab.sipp_done("trunk-t2p-%s" % user, trunk)
    cid, legs = lab.media_closed(start)
    ice = BARESIP[user]["ice"]
    b = lab.check_phone_leg(cid, legs, "B", not ice)
    return "trunk -> baresip %s%s: %s; baresip decoded %.1f s" % (
        user, " (ICE+DTLS)" if ice else " (no ICE)", b, stats["rx_time"])


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------
def case_mode(lab, mode):
    nat, timeout, keepalive = {"mode-eim": ("eim", None, "25s"),
                               "mode-random": ("random", None, "25s"),
                               "mode-short": ("eim", 5, "2s")}[mode]
    lab.make_network(nat, timeout)
    lab.start_icegate(lab.icegate_config(keepalive=keepalive))
    for user in BARESIP:
        start = len(lab.log())
        lab.start_baresip(user)
        lab.wait_registered(user, BARESIP[user]["sip"], start)
    steps = [("sipp phone -> trunk (+ RTP bleed)", lambda: sipp_phone_calls(lab)),
             ("baresip 1002 no ICE -> trunk", lambda: baresip_calls(lab, "1002")),
             ("baresip 1001 ICE+DTLS -> trunk", lambda: baresip_calls(lab, "1001")),
             ("trunk -> sipp phone", lambda: sipp_phone_answers(lab)),
             ("trunk -> baresip 1002 no ICE", lambda: baresip_answers(lab, "1002")),
             ("trunk -> baresip 1001 ICE+DTLS", lambda: baresip_answers(lab, "1001"))]
    failures = []
    for what, step in steps:
        t = time.monotonic()
        try:
            msg = step()
            lab.note("PASS %s (%.1f s): %s" % (what, time.monotonic() - t, msg))
        except TestFailure as e:
            lab.note("FAIL %s: %s" % (what, e))
            failures.append("%s: %s" % (what, e))
            # Whatever this step left running (sipp, rtp_peer) must not disturb the next.
            for name, p in lab.procs:
                if p.poll() is None and (name.startswith(("trunk-", "phone-", "bleed-"))):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            for user in BARESIP:
                try:
                    lab.ctrls[user].command("hangup")
                except TestFailure:
                    pass
    if mode == "mode-short":
        # baresip runs all along (the sipp phone only while it is in a call: not checked).
        lost = re.findall(r"phone (?:1001|1002) at \S+ stopped answering keep-alives.*", lab.log())
        if lost:
            failures.append("with keep-alives every 2 s through a 5 s NAT timeout: %s" % lost)
        else:
            lab.note("PASS baresip 1001 and 1002 answered every keep-alive through the 5 s NAT "
                     "timeout")
    if failures:
        raise TestFailure("%d of %d calls failed:\n  %s" % (len(failures), len(steps),
                                                            "\n  ".join(failures)))


def case_long(lab):
    """#4 a 90 s baresip ICE + DTLS-SRTP call is not cut by consent, #5 baresip's post-ICE
    re-INVITE is answered by icegate and not forwarded to the trunk, and meanwhile #3 a trunk call
    (from pbx2: same IP as pbx, other port) to the NATed sipp desk phone held 60 s: the phone gets
    the ACK and the trunk's BYE. Each part is asserted; the case fails if any does."""
    lab.make_network("eim")
    lab.start_icegate(lab.icegate_config())
    user = "1001"
    start = len(lab.log())
    lab.start_baresip(user)
    lab.wait_registered(user, BARESIP[user]["sip"], start)
    start = len(lab.log())
    trunk = lab.trunk("trunk-long-1001", "pbx", "trunk_uas.xml", timeout="150s")
    n = lab.n_msgs(user)
    lab.ctrls[user].command("dial", DIAL)
    est = lab.event_after(user, n, ("CALL_ESTABLISHED", "CALL_CLOSED"), 15, "CALL_ESTABLISHED")
    lab.check(est["type"] == "CALL_ESTABLISHED", "baresip closed its call: %s" % est)
    t_est = time.monotonic()
    lab.wait_media(user, 2.0, 15)
    n_est = lab.n_msgs(user)

    def still_up():
        with lab.ctrls[user].lock:
            closed = [m for m in lab.ctrls[user].msgs[n_est:]
                      if m.get("event") and m.get("type") == "CALL_CLOSED"]
        if closed:
            raise TestFailure("baresip's call closed after %.0f s, before its hang-up: %s"
                              % (time.monotonic() - t_est, closed[0]))
        if re.search(r"ICE consent lost", lab.log()[start:]):
            raise TestFailure("icegate logged 'ICE consent lost' %.0f s into the call"
                              % (time.monotonic() - t_est))
    failures = []
    try:
        lab.note("PASS " + sipp_phone_answers(lab, hold=60.0, trunk_name="pbx2"))
    except TestFailure as e:
        lab.note("FAIL trunk (pbx2) -> sipp phone held 60 s: %s" % e)
        failures.append("trunk (pbx2) -> sipp phone held 60 s: %s" % e)
        for name, p in lab.procs:
            if p.poll() is None and name.startswith(("trunk-t2p", "phone-")):
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    try:
        still_up()
        lab.wait_for(90 - (time.monotonic() - t_est), (trunk, "the trunk baresip called"),
                     (lab.ctrls[user].baresip, "baresip"), extra=still_up)
        stats = lab.audio_debug(user)
        lab.check(stats["rx_time"] >= 80, "baresip decoded only %.1f s of audio in a 90 s call"
                  % stats["rx_time"])
        lab.ctrls[user].command("hangup")
        lab.event_after(user, n_est, ("CALL_CLOSED",), 10, "CALL_CLOSED")
        lab.sipp_done("trunk-long-1001", trunk)   # exit 0: no re-INVITE reached the trunk
        log = lab.log()[start:]
        cid = re.search(r"call (c\d+): %s \(phone [^)]*\) -> %s \(trunk pbx\)" % (user, DIAL), log)
        lab.check(cid, "no call line for %s calling the trunk" % user)
        cid = cid.group(1)
        lab.check("ICE consent lost" not in log, "'ICE consent lost' in icegate's log")
        m = re.search(r"call %s: media closed: A (.*?) \| B (.*)" % cid, log)
        lab.check(m, "no 'media closed' for call %s" % cid)
        lab.check_phone_leg(cid, {"A": m.group(1), "B": m.group(2)}, "A", False)
        ending = re.search(r"call %s: ending \(([^)]*)\)" % cid, log)
        lab.check(ending and "BYE" in ending.group(1), "call %s must end by the hang-up: %s"
                  % (cid, ending and ending.group(0)))
        lab.note("PASS baresip 1001 (ICE+DTLS) -> trunk held %.0f s: no consent loss, baresip "
                 "decoded %.1f s, %s; A %s" % (time.monotonic() - t_est, stats["rx_time"],
                                               ending.group(0), m.group(1)))
        # #5: baresip's re-INVITE after ICE (its default candidate is now the NAT's address).
        trunk_msgs = lab.text("trunk-long-1001.messages")
        to_trunk = len(re.findall(r"(?m)^INVITE sip:", trunk_msgs))
        reinvites = [c for c in re.findall(r"(?m)^CSeq: (\d+) INVITE", lab.text("baresip-1001.out"))]
        own = re.search(r"call %s: A changes only its own leg: answered on A, not forwarded" % cid, log)
        lab.note("baresip's INVITE CSeqs %s; the trunk received %d INVITE(s); icegate: %s"
                 % (sorted(set(reinvites)), to_trunk, own.group(0) if own else "-"))
        lab.check(len(set(reinvites)) >= 3, "baresip sent no re-INVITE (its INVITE CSeqs: %s): the "
                  "post-ICE re-INVITE case was not exercised" % sorted(set(reinvites)))
        lab.check(own, "baresip re-INVITEd but icegate did not log 'call %s: A changes only its "
                  "own leg: answered on A, not forwarded'" % cid)
        lab.check(to_trunk == 1, "the trunk received %d INVITEs: a phone's re-INVITE was "
                  "forwarded" % to_trunk)
        lab.note("PASS baresip's post-ICE re-INVITE answered on A, not forwarded to the trunk")
    except TestFailure as e:
        lab.note("FAIL baresip 90 s call: %s" % e)
        failures.append("baresip 90 s call: %s" % e)
    if failures:
        raise TestFailure("%d part(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))


def case_keepalive(lab, on):
    """#6: NAT UDP timeout 20 s; baresip (no ICE) registers for 3600 s; a trunk call 60 s later
    reaches it only thanks to icegate's keep-alives."""
    lab.make_network("eim", 20)
    lab.start_icegate(lab.icegate_config(keepalive="10s" if on else "0s"))
    user = "1002"
    start = len(lab.log())
    lab.start_baresip(user, regint=3600)
    reg = lab.wait_registered(user, BARESIP[user]["sip"], start)
    t_reg = time.monotonic()
    lab.note("baresip %s registered from %s:%s with Expires 3600; waiting 60 s (NAT UDP timeout "
             "20 s, keep-alive %s)" % (user, NAT_PUB_IP, reg.group(1), "10s" if on else "off"))
    lab.wait_for(60, (lab.ctrls[user].baresip, "baresip"))
    ct = lab.nsrun(lab.ns_nat, ["conntrack", "-L", "-p", "udp"], check=False)
    with open(lab.path("conntrack.txt"), "w") as f:
        f.write(ct.stdout + ct.stderr)
    n = lab.n_msgs(user)
    lab.seq += 1
    cid_str = "natlab-ka-%d@trunk" % os.getpid()
    if on:
        trunk = lab.trunk("trunk-ka", "pbx", "trunk_uac.xml",
                          extra=["-s", user, "-cid_str", cid_str], remote="%s:5060" % GW_IP)
        # The keep-alive's part: icegate's INVITE gets through the NAT to baresip (its -s trace).
        invite_rx = re.compile(r"(?m)^INVITE sip:%s@%s:\d+\S* SIP/2\.0" % (user, re.escape(NAT_PUB_IP)))
        if not poll(lambda: lab.alive() or invite_rx.search(lab.text("baresip-%s.out" % user)), 15):
            raise TestFailure("60 s after REGISTER, icegate's INVITE did not reach baresip through "
                              "the NAT (keep-alive did not hold the binding open)")
        lab.note("the INVITE reached baresip through the NAT %.0f s after REGISTER"
                 % (time.monotonic() - t_reg))
        est = lab.event_after(user, n, ("CALL_ESTABLISHED",), 15,
                              "CALL_ESTABLISHED (baresip has the INVITE: did icegate's ACK reach it?)")
        stats = lab.wait_media(user, 2.0, 15)
        n = lab.n_msgs(user)
        lab.send_info(lab.trunk_ns, "%s:%d" % (TRUNK_IP, TRUNKS["pbx"][0]), cid_str)
        lab.event_after(user, n, ("CALL_CLOSED",), 10, "CALL_CLOSED")
        lab.sipp_done("trunk-ka", trunk)
        log = lab.log()[start:]
        lab.check("stopped answering keep-alives" not in log,
                  "icegate says the phone stopped answering keep-alives")
        lab.note("PASS keep-alive on: the trunk's call %.0f s after REGISTER reached baresip "
                 "(%s, decoded %.1f s)" % (time.monotonic() - t_reg, est.get("direction"),
                                           stats["rx_time"]))
    else:
        trunk = lab.trunk("trunk-ka", "pbx", "trunk_uac.xml", timeout="45s",
                          extra=["-s", user, "-cid_str", cid_str], remote="%s:5060" % GW_IP)
        rc = lab.sipp_done("trunk-ka", trunk, timeout=60, expect=None)
        msgs = lab.text("trunk-ka.messages")
        finals = re.findall(r"(?m)^SIP/2\.0 ([3-6]\d\d) ", msgs)
        with lab.ctrls[user].lock:
            incoming = [m for m in lab.ctrls[user].msgs[n:] if m.get("event") and
                        m.get("type") in ("CALL_INCOMING", "CALL_ESTABLISHED", "CALL_RINGING")]
        lab.check(rc != 0 and finals, "without keep-alive the trunk's call must fail: sipp exit "
                  "%s, final responses %s" % (rc, finals))
        lab.check(not incoming, "without keep-alive the INVITE still reached baresip through the "
                  "NAT (is the NAT UDP timeout effective?): %s" % incoming)
        lab.note("PASS keep-alive off: the trunk's call %.0f s after REGISTER got %s, baresip "
                 "never saw it" % (time.monotonic() - t_reg, finals))


def case_default_config(lab):
    """#7: the shipped conf/icegate.xml, byte for byte, in a namespace of the test's own (its
    127.0.0.1 is nobody else's): the trunk pbx on 127.0.0.1:5080 and a phone on 127.0.0.1:5090.
    The phone registers (401), calls 5555 (407) and gets media echoed by the trunk."""
    ns = "nldef%d" % os.getpid()
    lab.ip("netns", "add", ns)
    lab.netns_made.append(ns)
    lab.ip("-n", ns, "link", "set", "lo", "up")
    lab.ns_pub = ns
    cfg = lab.path("icegate.xml")
    shutil.copyfile(os.path.join(lab.args.source, "conf", "icegate.xml"), cfg)
    lab.start_icegate(cfg, ns=ns, ip="127.0.0.1")
    # The trunk starts once icegate's first OPTIONS to it has had its outcome (options-interval
    # 30s: the next one comes after this call; sipp -aa would answer it but count it as its one
    # call, and then refuse the INVITE).
    lab.wait_log(r"trunk pbx address 127\.0\.0\.1 is (DOWN|UP)", 15, "the first OPTIONS to the trunk")
    trunk = lab.trunk("trunk-default", "pbx", "trunk_uas.xml")
    phone_port, rtp_port, user = 5090, 42000, "1001"
    start = len(lab.log())
    p = lab.sipp("phone-register", ns, os.path.join(IT, "calls", "phone_register.xml"), "127.0.0.1",
                 phone_port, remote="127.0.0.1:5060",
                 extra=["-m", 1, "-s", user, "-au", user, "-ap", "1001secret", "-key", "expires", 600])
    lab.sipp_done("phone-register", p)
    lab.wait_log(r"REGISTER %s from 127\.0\.0\.1:%d\S*: 1 binding" % (user, phone_port), 10,
                 "the phone's registration from the trunk's host", start)
    kv = lab.path("default.kv")
    phone = lab.sipp("phone-call", ns, "plain_call.xml", "127.0.0.1", phone_port,
                     remote="127.0.0.1:5060",
                     extra=["-m", 1, "-s", "5555", "-au", user, "-ap", "1001secret",
                            "-key", "from_user", user, "-key", "c_ip", "127.0.0.1",
                            "-key", "rtp_port", rtp_port, "-key", "outfile", kv])
    v = lab.wait_kv(kv, procs=[(phone, "the phone"), (trunk, "the trunk")])
    ph = lab.rtp_peer("phone-rtp", ns, "127.0.0.1:%d" % rtp_port, "%s:%s" % (v["addr"], v["port"]),
                      count=150, ssrc="11110003", linger=1.0)
    res = lab.rtp_result(ph, "phone-rtp")
    lab.send_info(ns, "127.0.0.1:%d" % phone_port, v["call_id"])
    lab.sipp_done("phone-call", phone)
    lab.sipp_done("trunk-default", trunk)
    cid, legs = lab.media_closed(start)
    log = lab.log()[start:]
    lab.check(re.search(r"call %s: %s \(phone 127\.0\.0\.1:%d\S*\) -> 5555 \(trunk pbx\)"
                        % (cid, user, phone_port), log),
              "icegate's call line must read '%s (phone 127.0.0.1:%d) -> 5555 (trunk pbx)'"
              % (user, phone_port))
    msgs = lab.text("phone-call.messages")
    lab.check(re.search(r"(?m)^SIP/2\.0 407 ", msgs), "the phone on the trunk's host must be "
              "challenged (407) like any phone")
    lab.check(res["by_ssrc"].get("11110003", 0) >= MIN_PKTS, "too little RTP echoed: %s" % res)
    for side in ("A", "B"):
        pin, pout = lab.leg_counts(legs[side])
        lab.check(pin >= MIN_PKTS and pout >= MIN_PKTS, "leg %s relayed too little: %s"
                  % (side, legs[side]))
    lab.note("PASS phone 1001 on 127.0.0.1:%d (the trunk's host) registered (401) and called "
             "5555 (407) through the shipped conf/icegate.xml; phone got %d of %d echoed; A %s"
             % (phone_port, res["received"], res["sent"], legs["A"]))


FW_TABLE = "natlab_fw"
RTP_RANGE = "30000-30999"   # icegate_config()'s rtp-min / rtp-max


def firewall(lab, rule, ns=None):
    """One filter rule on the phone <-> icegate path (the forward hook of the NAT namespace, or of
    `ns`), in a table of its own; rule None removes it. Returns nothing; firewall_hits() reads its
    counter."""
    ns = ns or lab.ns_nat
    lab.nsrun(ns, ["nft", "delete", "table", "inet", FW_TABLE], check=False)
    if rule:
        lab.nsrun(ns, ["nft", "-f", "-"], stdin=(
            "table inet %s {\n chain forward {\n  type filter hook forward priority filter;"
            " policy accept;\n  %s counter drop\n }\n}\n" % (FW_TABLE, rule)))


def firewall_hits(lab, ns=None):
    out = lab.nsrun(ns or lab.ns_nat, ["nft", "list", "table", "inet", FW_TABLE]).stdout
    m = re.search(r"counter packets (\d+)", out)
    return int(m.group(1)) if m else 0


def diagnosis_line(lab, start, pattern, timeout, what):
    """icegate's diagnosis line naming `pattern`, after log offset `start`; a diagnosis line of
    another verdict fails at once (with the line)."""
    rx = re.compile(r"diagnosis: (.*)")
    want = "pattern %d (" % pattern

    def seen():
        lab.alive()
        for m in rx.finditer(lab.log(), start):
            return m
        return None
    m = poll(seen, timeout)
    if not m:
        raise TestFailure("%s: no diagnosis line within %s s" % (what, timeout))
    line = lab.log()[lab.log().rfind("\n", 0, m.start()) + 1:m.end()]
    lab.check(m.group(1).startswith(want), "%s: the diagnosis must name %r: %s" % (what, want, line))
    return line


def blocked_ice_call(lab, pattern, rule, what):
    """baresip 1001 (ICE + DTLS) calls the trunk with `rule` dropping its media: the call is
    answered (SIP is not blocked), ICE never succeeds, icegate ends the call after ice-timeout
    and its diagnosis names `pattern`."""
    start = len(lab.log())
    name = "trunk-p%d" % pattern
    firewall(lab, rule)
    try:
        trunk = lab.trunk(name, "pbx", "trunk_uas.xml")
        n = lab.n_msgs("1001")
        lab.ctrls["1001"].command("dial", DIAL)
        est = lab.event_after("1001", n, ("CALL_ESTABLISHED", "CALL_CLOSED"), 15,
                              "CALL_ESTABLISHED")
        lab.check(est["type"] == "CALL_ESTABLISHED", "%s: the call must be answered (SIP is not "
                  "blocked): %s" % (what, est))
        line = diagnosis_line(lab, start, pattern, 30, what)
        lab.check("ICE did not succeed within ice-timeout: icegate ended it" in line,
                  "%s: icegate must end the call after ice-timeout: %s" % (what, line))
        lab.event_after("1001", n, ("CALL_CLOSED",), 15, "CALL_CLOSED (icegate's BYE)")
        lab.sipp_done(name, trunk)
        hits = firewall_hits(lab)
        lab.check(hits > 0, "%s: the nftables rule dropped nothing" % what)
    finally:
        firewall(lab, None)
    return "%s; the rule dropped %d packets; %s" % (what, hits, line)


def rejected_call(lab, status, rx, what):
    """baresip 1001 calls the trunk and gets `status` from icegate at once; icegate logs a line
    matching `rx` (the SIP side's own line: patterns 4 and 5 get no diagnosis line yet,
    docs/troubleshooting.md "Known gaps")."""
    start = len(lab.log())
    n = lab.n_msgs("1001")
    lab.ctrls["1001"].command("dial", DIAL)
    closed = lab.event_after("1001", n, ("CALL_ESTABLISHED", "CALL_CLOSED"), 15, "CALL_CLOSED")
    lab.check(closed["type"] == "CALL_CLOSED" and str(status) in closed.get("param", ""),
              "%s: the call must fail with %d: %s" % (what, status, closed))
    m = lab.wait_log(rx, 10, what, start)
    line = lab.log()[lab.log().rfind("\n", 0, m.start()) + 1:m.end()]
    return "baresip: %s; icegate: %s" % (closed["param"], line)


def case_patterns(lab):
    """behaviour.md section 9: patterns 6, 1, 4 and 5 produced for real, named by icegate."""
    lab.make_network("eim")
    # No default route on the public side: icegate's Binding Requests to the phone's private host
    # candidate (10.88.0.2) fail with ENETUNREACH and count as send-failed drops, which the
    # diagnosis must not take for traffic from the phone (it once did: verdict unknown).

    def short_ice(root):
        root.find("media").set("ice-timeout", "4s")
    lab.start_icegate(lab.icegate_config(edit=short_ice))
    lab.start_baresip("1001")
    failures = []

    def step(what, fn):
        t = time.monotonic()
        try:
            msg = fn()
            lab.note("PASS %s (%.1f s): %s" % (what, time.monotonic() - t, msg))
        except TestFailure as e:
            lab.note("FAIL %s: %s" % (what, e))
            failures.append("%s: %s" % (what, e))
            for name, p in lab.procs:
                if p.poll() is None and name.startswith("trunk-"):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            try:
                lab.ctrls["1001"].command("hangup")
            except TestFailure:
                pass

    step("pattern 6: UDP to icegate's RTP range dropped", lambda: blocked_ice_call(
        lab, 6, "ip daddr %s udp dport %s" % (GW_IP, RTP_RANGE), "phone -> RTP range dropped"))
    step("pattern 1: UDP from icegate's RTP range dropped", lambda: blocked_ice_call(
        lab, 1, "ip saddr %s udp sport %s" % (GW_IP, RTP_RANGE), "RTP range -> phone dropped"))

    def restart(edit, name):
        rc = lab.stop_icegate()
        lab.check(rc == 0, "icegate exited with %s on SIGTERM (crash or sanitizer report?)" % rc)
        lab.start_icegate(lab.icegate_config(edit=edit, file_name=name))

    def sip_acl(root):
        short_ice(root)
        acl = ET.SubElement(root.find("acls"), "acl", name="deny-phone")
        ET.SubElement(acl, "whitelist", cidr="127.0.0.0/8")
        ET.SubElement(acl, "blacklist", cidr=NAT_PUB_IP + "/32")
        root.find("acl-policy").set("sip-inbound", "deny-phone")

    def p4():
        restart(sip_acl, "icegate-sip-acl.xml")
        return rejected_call(lab, 403, r"IP %s Rejected by acl \"deny-phone\" \(INVITE .*"
                             % re.escape(NAT_PUB_IP), "the 'Rejected by acl' line")
    step("pattern 4: SIP ACL denies the phone's public address", p4)

    def cand_acl(root):
        short_ice(root)
        acl = ET.SubElement(root.find("acls"), "acl", name="no-phone-candidates")
        ET.SubElement(acl, "blacklist", cidr=LAN_NET)   # baresip offers its host candidate only
        root.find("acl-policy").set("remote-candidates", "no-phone-candidates")

    def p5():
        restart(cand_acl, "icegate-candidate-acl.xml")
        start = len(lab.log())
        msg = rejected_call(lab, 488, r"candidate \"[^\"]* %s \d+ typ host\" rejected by acl "
                            "\"no-phone-candidates\".*" % re.escape(PHONE_IP),
                            "the candidate rejected by the ACL")
        m = lab.wait_log(r"INVITE \S+ from %s:\d+/udp rejected: 488 Not Acceptable Here.*"
                         % re.escape(NAT_PUB_IP), 10, "the 488 line", start)
        return "%s; %s" % (msg, m.group(0))
    step("pattern 5: remote-candidates ACL denies the phone's candidates", p5)
    if failures:
        raise TestFailure("%d of 4 patterns failed:\n  %s" % (len(failures), "\n  ".join(failures)))


# ---------------------------------------------------------------------------------------------
# Patterns 2 and 3: icegate's media address behind NATs of its own
# ---------------------------------------------------------------------------------------------
MEDIA_IP = "10.99.0.10"                  # icegate's media address: private
UPLINK_A, UPLINK_B = "203.0.113.20", "198.51.100.7"
NAT_A_LAN, NAT_B_LAN, GW_B_IP = "10.99.0.1", "10.99.1.1", "10.99.1.10"
STUN_A, STUN_B = "203.0.113.50", "198.51.100.50"   # coturn, one STUN server on each subnet
MEDIA_TABLE = "100"                      # icegate's routing table for its media address


def make_uplinks_network(lab):
    """Patterns 2 and 3 need icegate behind NATs of its own; namespaces (all pid-named):

      phone 10.88.0.2 -- 10.88.0.1 phone NAT 203.0.113.1 --+-- the Internet (a bridge, nlnet):
        baresip 1001: ICE, DTLS,    masquerade (Linux       |     coturn, STUN on 203.0.113.50
        srflx from coturn           conntrack: filtering    |     and 198.51.100.50, port 3478
                                    address-and-port-dep.)  |
      icegate (nlpub): SIP on 203.0.113.10 --------------+
        media on 10.99.0.10, routed by its source (table 100):
          10.99.0.1  uplink A (nlsa): NAT 203.0.113.20, UDP 30000-30999 forwarded to 10.99.0.10
          10.99.1.1  uplink B (nlsb): NAT 198.51.100.7
    media_uplink() decides which uplink the media address uses. Both public subnets share the
    bridge (on-link routes). rp_filter is off: with two uplinks, replies leave by another
    interface than the requests came in."""
    tag = lab.tag
    lab.ns_net, lab.ns_sa, lab.ns_sb = "nlnet%d" % tag, "nlsa%d" % tag, "nlsb%d" % tag
    for ns in (lab.ns_ph, lab.ns_nat, lab.ns_pub, lab.ns_net, lab.ns_sa, lab.ns_sb):
        lab.ip("netns", "add", ns)
        lab.netns_made.append(ns)
        lab.ip("-n", ns, "link", "set", "lo", "up")
        lab.nsrun(ns, ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                       "net.ipv4.conf.default.rp_filter=0"])
    br = "nlbr%d" % tag
    lab.ip("-n", lab.ns_net, "link", "add", br, "type", "bridge")
    lab.ip("-n", lab.ns_net, "addr", "add", STUN_A + "/24", "dev", br)
    lab.ip("-n", lab.ns_net, "addr", "add", STUN_B + "/24", "dev", br)
    lab.ip("-n", lab.ns_net, "link", "set", br, "up")

    def veth(ns_a, dev_a, addr_a, ns_b, dev_b, addr_b):
        lab.ip("link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b,
               "netns", ns_b)
        for ns, dev, addr in ((ns_a, dev_a, addr_a), (ns_b, dev_b, addr_b)):
            if addr:
                lab.ip("-n", ns, "addr", "add", addr, "dev", dev)
            lab.ip("-n", ns, "link", "set", dev, "up")

    def on_internet(ns, dev, addr, other_net):
        port = "nlq%s" % dev[2:]
        veth(ns, dev, addr, lab.ns_net, port, None)
        lab.ip("-n", lab.ns_net, "link", "set", port, "master", br)
        lab.ip("-n", ns, "route", "add", other_net, "dev", dev)
    veth(lab.ns_ph, lab.if_ph, PHONE_IP + "/24", lab.ns_nat, lab.if_natl, NAT_LAN_IP + "/24")
    lab.ip("-n", lab.ns_ph, "route", "add", "default", "via", NAT_LAN_IP)
    on_internet(lab.ns_nat, lab.if_natw, NAT_PUB_IP + "/24", "198.51.100.0/24")
    on_internet(lab.ns_pub, lab.if_pub, GW_IP + "/24", "198.51.100.0/24")
    if_a, if_sa, if_wa = "nlm%d" % tag, "nla%d" % tag, "nlx%d" % tag
    if_b, if_sb, if_wb = "nlb%d" % tag, "nlc%d" % tag, "nly%d" % tag
    veth(lab.ns_pub, if_a, MEDIA_IP + "/24", lab.ns_sa, if_sa, NAT_A_LAN + "/24")
    veth(lab.ns_pub, if_b, GW_B_IP + "/24", lab.ns_sb, if_sb, NAT_B_LAN + "/24")
    on_internet(lab.ns_sa, if_wa, UPLINK_A + "/24", "198.51.100.0/24")
    on_internet(lab.ns_sb, if_wb, UPLINK_B + "/24", "203.0.113.0/24")
    lab.ip("-n", lab.ns_sb, "route", "add", MEDIA_IP + "/32", "via", GW_B_IP)
    for ns in (lab.ns_nat, lab.ns_sa, lab.ns_sb):
        lab.nsrun(ns, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    nat = ("table ip nat {\n chain prerouting {\n  type nat hook prerouting priority dstnat;"
           " policy accept;\n  %s\n }\n chain postrouting {\n  type nat hook postrouting priority"
           " srcnat; policy accept;\n  oifname \"%s\" masquerade\n }\n}\n")
    lab.nsrun(lab.ns_nat, ["nft", "-f", "-"], stdin=nat % ("", lab.if_natw))
    lab.nsrun(lab.ns_sa, ["nft", "-f", "-"], stdin=nat % (
        "iifname \"%s\" ip daddr %s udp dport %s dnat to %s" % (if_wa, UPLINK_A, RTP_RANGE,
                                                                 MEDIA_IP), if_wa))
    lab.nsrun(lab.ns_sb, ["nft", "-f", "-"], stdin=nat % ("", if_wb))
    lab.ip("-n", lab.ns_pub, "rule", "add", "from", MEDIA_IP, "lookup", MEDIA_TABLE,
           "priority", "100")
    lab.if_media = {"a": (if_a, NAT_A_LAN), "b": (if_b, NAT_B_LAN)}
    lab.spawn("capture", lab.ns_net, [sys.executable, "-u",
                                      os.path.join(IT, "baresip", "baresip_call.py"),
                                      "--capture", br, lab.path("public.pcap")])
    if not poll(lambda: "capturing on" in lab.text("capture.out"), 15):
        raise TestFailure("the packet capture on the Internet bridge did not start")
    conf = lab.path("coturn.conf")
    with open(conf, "w") as f:
        f.write("listening-port=3478\nlistening-ip=%s\nlistening-ip=%s\nstun-only\nno-cli\n"
                "no-tls\nno-dtls\nlog-file=stdout\nsimple-log\npidfile=%s\nuserdb=%s\n"
                % (STUN_A, STUN_B, lab.path("coturn.pid"), lab.path("coturn.sqlite")))
    coturn = lab.spawn("coturn", lab.ns_net, ["turnserver", "-c", conf])
    for ip in (STUN_A, STUN_B):
        wait_listening("udp", ip, 3478, proc=coturn, netns=lab.ns_net, alive=lambda: lab.alive(),
                       what="coturn")
    lab.note("NAT lab: phone %s -> masquerade -> %s; icegate SIP %s, media %s behind %s "
             "(uplink A) / %s (uplink B); STUN %s and %s"
             % (PHONE_IP, NAT_PUB_IP, GW_IP, MEDIA_IP, UPLINK_A, UPLINK_B, STUN_A, STUN_B))


def media_uplink(lab, split):
    """Where icegate's media address leaves: everything through uplink A (split False), or
    STUN server A through uplink A and everything else through uplink B (split True: icegate is
    seen under two public addresses; each STUN server names one). Old NAT mappings go."""
    dev_a, gw_a = lab.if_media["a"]
    dev_b, gw_b = lab.if_media["b"]
    if split:
        lab.ip("-n", lab.ns_pub, "route", "replace", "default", "via", gw_b, "dev", dev_b,
               "onlink", "table", MEDIA_TABLE)
        lab.ip("-n", lab.ns_pub, "route", "replace", STUN_A + "/32", "via", gw_a, "dev", dev_a,
               "onlink", "table", MEDIA_TABLE)
    else:
        lab.ip("-n", lab.ns_pub, "route", "replace", "default", "via", gw_a, "dev", dev_a,
               "onlink", "table", MEDIA_TABLE)
        lab.ip("-n", lab.ns_pub, "route", "del", STUN_A + "/32", "table", MEDIA_TABLE,
               check=False)
    for ns in (lab.ns_sa, lab.ns_sb, lab.ns_nat):
        lab.nsrun(ns, ["conntrack", "-F"], check=False)


def ctl_diagnose(lab, cfg, cid):
    """`icegate ctl -c FILE --json diagnose ID` in icegate's namespace (the admin listener is on
    its 127.0.0.1): the verdict of an ended call, as the control API gives it."""
    r = lab.nsrun(lab.ns_pub, [lab.args.icegate, "ctl", "-c", cfg, "--json", "diagnose", cid],
                  check=False)
    lab.check(r.returncode == 0, "icegate ctl diagnose %s exited %d: %s%s"
              % (cid, r.returncode, r.stdout, r.stderr))
    try:
        j = json.loads(r.stdout)
    except ValueError:
        raise TestFailure("icegate ctl diagnose %s printed no JSON: %s" % (cid, r.stdout))
    with open(lab.path("diagnose-%s.json" % cid), "w") as f:
        json.dump(j, f, indent=1)
    lab.check(j.get("live") is False and isinstance(j.get("diagnosis"), dict),
              "icegate ctl diagnose %s: not the verdict of an ended call: %s" % (cid, j))
    return j["diagnosis"]


def stun_pattern_call(lab, cfg, pattern, finding, what):
    """baresip 1001 calls the trunk: answered, ICE never succeeds, icegate ends the call after
    ice-timeout; its diagnosis line and `icegate ctl diagnose` name `pattern` / `finding` for
    leg A. Returns (log line, the verdict's fields)."""
    start = len(lab.log())
    name = "trunk-p%d" % pattern
    trunk = lab.trunk(name, "pbx", "trunk_uas.xml")
    n = lab.n_msgs("1001")
    lab.ctrls["1001"].command("dial", DIAL)
    est = lab.event_after("1001", n, ("CALL_ESTABLISHED", "CALL_CLOSED"), 15, "CALL_ESTABLISHED")
    lab.check(est["type"] == "CALL_ESTABLISHED", "%s: the call must be answered (SIP is not "
              "blocked): %s" % (what, est))
    line = diagnosis_line(lab, start, pattern, 30, what)
    lab.check("ICE did not succeed within ice-timeout: icegate ended it" in line,
              "%s: icegate must end the call after ice-timeout: %s" % (what, line))
    cid = re.search(r"call (c\d+): diagnosis: ", line)
    lab.check(cid, "%s: the diagnosis line names no call: %s" % (what, line))
    lab.event_after("1001", n, ("CALL_CLOSED",), 15, "CALL_CLOSED (icegate's BYE)")
    lab.sipp_done(name, trunk)
    v = ctl_diagnose(lab, cfg, cid.group(1))
    lab.check(v.get("finding") == finding and v.get("pattern") == pattern and v.get("leg") == "A",
              "%s: icegate ctl diagnose %s must say finding %s, pattern %d, leg A: %s"
              % (what, cid.group(1), finding, pattern, v))
    lab.check(line.endswith(v.get("summary", "?") + " | evidence: " + "; ".join(v["evidence"]) +
                            " | do: " + v.get("action", "")),
              "%s: the log line and the control API's verdict differ:\n  %s\n  %s"
              % (what, line, v))
    return line, v


def has(lab, v, what, rx, field="summary"):
    """The verdict's `field` (summary, or evidence: any of its lines) matches `rx`."""
    texts = v.get(field) if field == "evidence" else [v.get(field, "")]
    m = next((m for m in (re.search(rx, t) for t in texts) if m), None)
    lab.check(m, "%s: the verdict's %s must match /%s/: %s" % (what, field, rx, texts))
    return m


def case_stun_patterns(lab):
    """behaviour.md section 9, patterns 2 and 3 produced for real: icegate's media address is
    private behind NATs of its own (make_uplinks_network), STUN servers lab-stun-a (203.0.113.50)
    and lab-stun-b (198.51.100.50); baresip 1001 (ICE + DTLS-SRTP, a srflx candidate from
    lab-stun-a) calls the trunk; ice-timeout 4 s, pin-hole puncher on."""
    make_uplinks_network(lab)

    def edit(root):
        media = root.find("media")
        media.set("address", MEDIA_IP)
        media.set("ice-timeout", "4s")
        media.set("pinhole-puncher", "true")
        stun = root.find("stun")
        stun.set("enabled", "true")
        for child in list(stun):
            stun.remove(child)
        ET.SubElement(stun, "server", name="lab-stun-a", host=STUN_A, port="3478")
        ET.SubElement(stun, "server", name="lab-stun-b", host=STUN_B, port="3478")
    cfg = lab.icegate_config(edit=edit)
    account = "stunserver=stun:%s:3478;" % STUN_A
    failures = []

    def step(what, fn):
        t = time.monotonic()
        try:
            msg = fn()
            lab.note("PASS %s (%.1f s): %s" % (what, time.monotonic() - t, msg))
        except TestFailure as e:
            lab.note("FAIL %s: %s" % (what, e))
            failures.append("%s: %s" % (what, e))
            for name, p in lab.procs:
                if p.poll() is None and name.startswith("trunk-"):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            try:
                lab.ctrls["1001"].command("hangup")
            except (TestFailure, KeyError):
                pass

    def figures(v, what):
        """Leg A's figures line of the verdict: (checks answered, binding requests sent)."""
        m = has(lab, v, what, r"^leg A \(phone with ICE\): media in 0 packets, .*; STUN in (\d+), "
                r"checks answered (\d+), refused \(401\) 0, binding requests sent (\d+), answered "
                r"(\d+)", "evidence")
        return int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))

    def media_port_a(line_start):
        m = lab.wait_log(r"call c\d+: 1001 \(phone [^)]*\) -> %s \(trunk pbx\), .* media ports A "
                         r"(\d+) B \d+" % DIAL, 5, "the call's media ports", line_start)
        return int(m.group(1))

    def restart():
        rc = lab.stop_icegate()
        lab.check(rc == 0, "icegate exited with %s on SIGTERM (crash or sanitizer report?)" % rc)
        start = len(lab.log())
        lab.start_icegate(cfg)
        if "1001" not in lab.ctrls:
            lab.start_baresip("1001", account_extra=account)
        return start

    def control():
        # The same lab with one uplink and STUN reachable: srflx 203.0.113.20, the phone's ICE and
        # DTLS succeed, and media flows both ways. What breaks ICE below is the network, not the
        # lab. (baresip 1.0 sends its RTP to the SDP's c= address after ICE: c= names the srflx.)
        media_uplink(lab, split=False)
        start = restart()
        lab.wait_log(r"public address %s from STUN server lab-stun-a" % re.escape(UPLINK_A), 15,
                     "icegate's public address %s" % UPLINK_A, start)
        start = len(lab.log())
        trunk = lab.trunk("trunk-control", "pbx", "trunk_uas.xml")
        n = lab.n_msgs("1001")
        lab.ctrls["1001"].command("dial", DIAL)
        est = lab.event_after("1001", n, ("CALL_ESTABLISHED", "CALL_CLOSED"), 15,
                              "CALL_ESTABLISHED")
        lab.check(est["type"] == "CALL_ESTABLISHED", "control call closed: %s" % est)
        ice = lab.wait_log(r"call c\d+: ICE connected on A \(%s:\d+ " % re.escape(NAT_PUB_IP), 10,
                           "ICE connected on leg A (through the NAT's public address)", start)
        dtls = lab.wait_log(r"call c\d+: DTLS-SRTP up on A .*", 10, "DTLS-SRTP up on leg A", start)
        # Audio both ways on the phone leg, seen through the control API while the call is up.
        deadline = time.monotonic() + 10
        while True:
            r = lab.nsrun(lab.ns_pub, [lab.args.icegate, "ctl", "-c", cfg, "--json", "calls"],
                          check=False)
            calls = json.loads(r.stdout)["calls"] if r.returncode == 0 else []
            media = calls[0]["a"].get("media", {}) if len(calls) == 1 else {}
            if media.get("packets_in", 0) >= 25 and media.get("packets_out", 0) >= 25:
                break
            lab.check(time.monotonic() < deadline, "control call: no audio both ways on the "
                      "phone leg within 10 s: %s" % (media or r.stdout + r.stderr))
            time.sleep(0.2)
        n = lab.n_msgs("1001")
        lab.ctrls["1001"].command("hangup")
        lab.event_after("1001", n, ("CALL_CLOSED",), 10, "CALL_CLOSED")
        lab.sipp_done("trunk-control", trunk)
        cid, legs = lab.media_closed(start)
        lab.check("ICE did not succeed" not in lab.log()[start:],
                  "control call: ICE did not succeed: %s" % legs["A"])
        return "srflx %s; %s; %s" % (UPLINK_A, ice.group(0), dtls.group(0))
    step("control: one uplink, STUN reachable: ICE and DTLS succeed", control)

    def p2():
        # STUN unreachable: uplink A drops UDP from the media address to port 3478 (both
        # servers). icegate offers its private host address only; the phone's checks to it go
        # nowhere, and icegate's pin-hole requests stop at the phone's NAT.
        media_uplink(lab, split=False)
        firewall(lab, "ip saddr %s udp dport 3478" % MEDIA_IP, ns=lab.ns_sa)
        restart()
        what = "STUN unreachable"
        start = len(lab.log())
        line, v = stun_pattern_call(lab, cfg, 2, "missing-candidates", what)
        port = media_port_a(start)
        has(lab, v, what, r"icegate offered no public candidate \(STUN is on but no STUN server "
            r"answered\) to a phone outside its network; nothing reached icegate's port %d in "
            r"(?:[4-9](?:\.\d)?|1\d) s \(no check, no DTLS, no media\)" % port)
        has(lab, v, what, r"the phone can only try the private %s$" % re.escape(MEDIA_IP))
        has(lab, v, what, r"^icegate offered host %s only \(STUN on, no server answered\)"
            % re.escape(MEDIA_IP), "evidence")
        stun_in, answered, sent, punched = figures(v, what)
        lab.check(stun_in == 0 and answered == 0 and sent > 0 and punched == 0,
                  "%s: leg A's figures must show nothing in and icegate's binding requests sent, "
                  "unanswered: STUN in %d, checks answered %d, sent %d, answered %d"
                  % (what, stun_in, answered, sent, punched))
        lab.check("STUN servers see" not in line, "%s: no STUN server answered, yet: %s"
                  % (what, line))
        hits = firewall_hits(lab, lab.ns_sa)
        lab.check(hits > 0, "%s: uplink A's rule dropped none of icegate's STUN requests" % what)
        return "the STUN rule dropped %d requests; %s" % (hits, line)
    step("pattern 2: STUN unreachable from icegate's media address", p2)

    def p3():
        # lab-stun-a is reached through uplink A (icegate's srflx: 203.0.113.20, where the range
        # is forwarded), everything else through uplink B (198.51.100.7): the phone's checks come
        # in through A, icegate's answers leave through B, and the phone's NAT drops them.
        firewall(lab, None, ns=lab.ns_sa)
        media_uplink(lab, split=True)
        start = restart()
        lab.wait_log(r"several public IPs or NICs: lab-stun-a says %s, lab-stun-b says %s; using "
                     r"%s" % (re.escape(UPLINK_A), re.escape(UPLINK_B), re.escape(UPLINK_A)),
                     15, "the start-up warning: the two STUN servers disagree", start)
        lab.wait_log(r"public address %s from STUN server lab-stun-a" % re.escape(UPLINK_A), 15,
                     "icegate's public address %s (uplink A)" % UPLINK_A, start)
        what = "two public addresses"
        start = len(lab.log())
        line, v = stun_pattern_call(lab, cfg, 3, "address-mismatch", what)
        m = has(lab, v, what, r"^pattern 3 \(addresses do not match\): leg A \(phone with ICE\): "
                r"the phone checked icegate's srflx %s, but STUN also sees icegate as %s "
                r"\(lab-stun-b\): its answers can leave from there; the phone's (\d+) checks from "
                r"%s:\d+ were answered, but it never completed ICE \(0 DTLS, 0 media from it in "
                r"(?:[4-9](?:\.\d)?|1\d) s\); .*: several public addresses$"
                % (re.escape(UPLINK_A), re.escape(UPLINK_B), re.escape(NAT_PUB_IP)))
        stun_in, answered, sent, punched = figures(v, what)
        lab.check(int(m.group(1)) == answered > 0 and stun_in >= answered,
                  "%s: the summary's %s checks, the figures' %d answered and STUN in %d must "
                  "agree" % (what, m.group(1), answered, stun_in))
        has(lab, v, what, r"^icegate offered host %s and srflx %s;"
            % (re.escape(MEDIA_IP), re.escape(UPLINK_A)), "evidence")
        has(lab, v, what, r"^STUN servers see icegate's media address %s as: lab-stun-a %s, "
            r"lab-stun-b %s$" % (re.escape(MEDIA_IP), re.escape(UPLINK_A), re.escape(UPLINK_B)),
            "evidence")
        closed = lab.wait_log(r"call c\d+: media closed: A .*?stun in (\d+) out (\d+)", 5,
                              "the call's 'media closed' line", start)
        lab.check(int(closed.group(1)) == stun_in, "%s: STUN in %d in the verdict, %s in the "
                  "'media closed' line" % (what, stun_in, closed.group(1)))
        return line
    step("pattern 3: STUN through one uplink, media through another", p3)
    if failures:
        raise TestFailure("%d of 3 steps failed:\n  %s" % (len(failures), "\n  ".join(failures)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--icegate", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--case", required=True,
                    choices=("mode-eim", "mode-random", "mode-short", "long", "keepalive-on",
                             "keepalive-off", "default-config", "patterns", "stun-patterns"))
    ap.add_argument("--budget", type=int, default=280)
    args = ap.parse_args()
    args.icegate, args.source = os.path.abspath(args.icegate), os.path.abspath(args.source)
    lab = Lab(args, args.case)
    reason = lab.preflight(need_baresip=args.case != "default-config")
    if reason:
        print("SKIP [natlab.%s]: %s" % (args.case, reason))
        shutil.rmtree(lab.work, ignore_errors=True)
        return SKIP

    def interrupted(signum, _frame):
        raise TestFailure("interrupted by signal %d" % signum)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, interrupted)
    signal.alarm(args.budget)
    failure, skip = None, None
    t0 = time.monotonic()
    print("[natlab.%s] work directory %s" % (args.case, lab.work), flush=True)
    try:
        lab.remove_stale()
        if args.case.startswith("mode-"):
            case_mode(lab, args.case)
        elif args.case == "long":
            case_long(lab)
        elif args.case.startswith("keepalive"):
            case_keepalive(lab, args.case == "keepalive-on")
        elif args.case == "patterns":
            case_patterns(lab)
        elif args.case == "stun-patterns":
            case_stun_patterns(lab)
        else:
            case_default_config(lab)
        rc = lab.stop_icegate()
        lab.check(rc == 0, "icegate exited with %s on SIGTERM (crash or sanitizer report?)" % rc)
    except Skip as e:
        skip = str(e)
    except TestFailure as e:
        failure = e
    except Exception as e:
        import traceback
        traceback.print_exc()
        failure = e
    finally:
        signal.alarm(0)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        lab.stop_icegate()
        lab.cleanup()
    if skip:
        print("SKIP [natlab.%s]: %s" % (args.case, skip))
        return SKIP
    if failure:
        print("FAIL [natlab.%s] after %.0f s: %s" % (args.case, time.monotonic() - t0, failure))
        lab.dump()
        return 1
    if not os.environ.get("ICEGATE_TEST_KEEP"):
        shutil.rmtree(lab.work, ignore_errors=True)
    print("PASS [natlab.%s] in %.0f s" % (args.case, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
