"""Shared driver for the call tests: one icegate per test, sipp peers, the ice_phone helper.

Every test script does
    env = Env("phone_to_trunk", net=41)
    with env:                       # kills everything it started, prints logs on failure
        env.start_icegate(env.config())
        ...
        env.check(condition, "what went wrong")

Addresses: each test owns 127.0.<net>.0/24 (README.md has the plan). Inside it:
    .1  icegate (SIP listeners, media address)
    .2  the trunk (sipp UAS/UAC, -rtp_echo on .2:6000)
    .3  the phone (sipp, SIP on .3:5060; ice_phone on .3:40000)
Waiting is always polling with a deadline; nothing sleeps to let time pass.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # ctest SKIP_RETURN_CODE


class TestFailure(Exception):
    pass


def poll(predicate, timeout, interval=0.05):
    """predicate() until truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)  # the poll period, not a wait for the condition itself


class Sipp:
    """One sipp process: its scenario, command line and log files."""

    def __init__(self, env, name, scenario, args):
        self.env, self.name, self.scenario = env, name, scenario
        self.out = os.path.join(env.work, name + ".out")
        self.messages = os.path.join(env.work, name + ".messages")
        self.errors = os.path.join(env.work, name + ".errors")
        self.cmd = ([env.sipp, "-sf", os.path.join(HERE, scenario), "-nostdin", "-trace_msg",
                     "-message_file", self.messages, "-trace_err", "-error_file", self.errors]
                    + [str(a) for a in args])
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=env.work,
                                         start_new_session=True)
        env.procs.append(self.proc)

    def wait(self, timeout=30):
        if not poll(lambda: self.env.check_icegate() or self.proc.poll() is not None, timeout):
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("sipp %s did not finish within %s s" % (self.name, timeout))
        return self.proc.returncode

    def expect_success(self, timeout=30):
        rc = self.wait(timeout)
        if rc != 0:
            raise TestFailure("sipp %s (%s) exited %d, expected 0 (every call succeeded)"
                              % (self.name, self.scenario, rc))

    def text(self, which="messages"):
        path = {"messages": self.messages, "errors": self.errors, "out": self.out}[which]
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Env:
    def __init__(self, name, net):
        self.name = name
        self.net = net
        self.args = self._parse_args(sys.argv[1:])
        self.icegate_bin = self.args["--icegate"]
        self.ice_phone_bin = self.args.get("--ice-phone", "")
        # LeakSanitizer suppressions for this test's icegate (tls.py: Sofia-SIP's TLS leak).
        self.lsan_suppressions = None
        self.source = self.args["--source"]
        self.sipp = shutil.which("sipp") or ""
        self.work = tempfile.mkdtemp(prefix="icegate-%s-" % name)
        self.procs = []
        self.icegate = None
        self.log_path = os.path.join(self.work, "icegate.log")
        self.notes = []

    @staticmethod
    def _parse_args(argv):
        out = {}
        for i in range(0, len(argv) - 1, 2):
            out[argv[i]] = argv[i + 1]
        return out

    # -- addresses -------------------------------------------------------------------------
    def ip(self, host):
        return "127.0.%d.%d" % (self.net, host)

    @property
    def icegate_ip(self):
        return self.ip(1)

    @property
    def trunk_ip(self):
        return self.ip(2)

    @property
    def phone_ip(self):
        return self.ip(3)

    @property
    def rtp_range(self):
        base = 31000 + (self.net - 40) * 100
        return base, base + 99

    # -- life cycle ------------------------------------------------------------------------
    def __enter__(self):
        if not self.sipp and self.needs_sipp:
            print("SKIP: sipp is not installed (apt-get install sip-tester)")
            sys.exit(SKIP)
        return self

    needs_sipp = True

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None
        rc = self.stop_icegate() if self.icegate else 0
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if not failed and rc != 0:
            failed = True
            exc = TestFailure("icegate exited with %d (sanitizer report or crash?)" % rc)
        for n in self.notes:
            print(n)
        if failed:
            print("FAIL [%s]: %s" % (self.name, exc))
            self.dump()
            sys.stdout.flush()
            os._exit(1)
        if not os.environ.get("ICEGATE_TEST_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)
        print("PASS [%s]" % self.name)
        return False

    def dump(self):
        print("---- work directory: %s" % self.work)
        for fn in sorted(os.listdir(self.work)):
            path = os.path.join(self.work, fn)
            if fn.endswith((".xml",)) or not os.path.isfile(path):
                continue
            with open(path, errors="replace") as f:
                text = f.read()
            if len(text) > 20000:
                text = "...(cut)...\n" + text[-20000:]
            print("---- %s ----\n%s" % (fn, text))

    def note(self, text):
        self.notes.append(text)

    def check(self, cond, what):
        if not cond:
            raise TestFailure(what)

    # -- icegate ---------------------------------------------------------------------------
    def config(self, media_extra=None, acls=None, policy=None, trunk_addresses=None,
               trunk_extra=None, log_level="debug", registrar=None, dtls=None):
        """conf/icegate.xml adapted to this test's addresses; returns the file path."""
        tree = ET.parse(os.path.join(self.source, "conf", "icegate.xml"))
        root = tree.getroot()
        root.find("logging").set("level", log_level)
        for listener in root.find("sip").findall("listener"):
            listener.set("address", self.icegate_ip)
        if registrar:
            for k, v in registrar.items():
                root.find("sip/registrar").set(k, v)
        media = root.find("media")
        media.set("address", self.icegate_ip)
        lo, hi = self.rtp_range
        media.set("rtp-min", str(lo))
        media.set("rtp-max", str(hi))
        media.set("ice-timeout", "10s")
        media.set("port-quarantine", "0s")
        for k, v in (media_extra or {}).items():
            media.set(k, v)
        if dtls is not None:
            el = ET.Element("dtls", {k: str(v) for k, v in dtls.items()})
            root.insert(list(root).index(media) + 1, el)
        if acls is not None:
            acls_el = root.find("acls")
            for name, entries in acls.items():
                acl = ET.SubElement(acls_el, "acl", name=name)
                for kind, cidr in entries:
                    ET.SubElement(acl, kind, cidr=cidr)
        if policy is not None:
            pol = root.find("acl-policy")
            for k, v in policy.items():
                pol.set(k, v)
        trunk = root.find("trunks/trunk")
        trunk.set("options-interval", "0s")  # the sipp trunks play one scenario, no OPTIONS
        for k, v in (trunk_extra or {}).items():
            trunk.set(k, v)
        for a in trunk.findall("address"):
            trunk.remove(a)
        for host, port in trunk_addresses or [(self.trunk_ip, 5080)]:
            ET.SubElement(trunk, "address", host=host, port=str(port))
        path = os.path.join(self.work, "icegate.xml")
        tree.write(path, encoding="UTF-8", xml_declaration=True)
        return path

    def start_icegate(self, config_path):
        check = subprocess.run([self.icegate_bin, "check-config", config_path],
                               capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise TestFailure("generated configuration refused:\n" + check.stdout + check.stderr)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        if self.lsan_suppressions:
            env["LSAN_OPTIONS"] = "suppressions=" + self.lsan_suppressions
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        with open(self.log_path, "w") as log:
            self.icegate = subprocess.Popen(
                [self.icegate_bin, "run", "-c", config_path], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.procs.append(self.icegate)
        self.wait_log(r"SIP listener udp-lo: udp %s:5060" % re.escape(self.icegate_ip), 30)
        self.wait_log(r"icegate is up", 30)

    def stop_icegate(self):
        """SIGTERM, bounded wait; returns the exit code (non-zero: crash or sanitizer report)."""
        p, self.icegate = self.icegate, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                return p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return -9
        return p.returncode

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=15, count=1):
        """Waits until `pattern` (a regex) matches `count` times in icegate's log."""
        rx = re.compile(pattern)

        def seen():
            self.check_icegate()
            hits = rx.findall(self.log())
            return hits if len(hits) >= count else None

        hits = poll(seen, timeout)
        if not hits:
            raise TestFailure("timed out after %s s waiting for /%s/ in icegate's log"
                              % (timeout, pattern))
        return hits

    def check_icegate(self):
        """Raises when the icegate this test started has died (crash, sanitizer report)."""
        if self.icegate is not None and self.icegate.poll() is not None:
            raise TestFailure("icegate exited unexpectedly with %d (its log is below)"
                              % self.icegate.returncode)
        return False

    def alive(self):
        return self.icegate is not None and self.icegate.poll() is None

    # -- peers -----------------------------------------------------------------------------
    def sipp_run(self, name, scenario, local_ip, local_port, remote=None, extra=()):
        args = ["-i", local_ip, "-p", local_port, "-m", 1, "-timeout", "40s", "-timeout_error",
                "-default_behaviors", "all,-bye",
                "-key", "write_kv", os.path.join(HERE, "write_kv.sh"),
                "-max_recv_loops", 1000]
        args += list(extra)
        if remote:
            args.append(remote)
        return Sipp(self, name, scenario, args)

    def trunk_uas(self, scenario="trunk_uas.xml", name="trunk", ip=None, port=5080, media_port=6000,
                  extra=()):
        ip = ip or self.trunk_ip
        return self.sipp_run(name, scenario, ip, port,
                             extra=["-mi", ip, "-mp", media_port, "-rtp_echo"] + list(extra))

    def trunk_calls_phone(self, user, phone_keys=None, scenario="trunk_call.xml", extra=(),
                          prefix=""):
        """A registered phone waits (phone_answer.xml) and the trunk (sipp -rtp_echo) calls
        `user` through icegate. Returns (phone Sipp, trunk Sipp, icegate's offer to the phone,
        the trunk's outfile) once the offer reached the phone."""
        phone_out = os.path.join(self.work, prefix + "offer.txt")
        phone = self.sipp_run(prefix + "phone", "phone_answer.xml", self.phone_ip, 5060,
                              extra=["-s", user, "-key", "outfile", phone_out]
                              + (phone_keys if phone_keys is not None else self.phone_keys()))
        self.wait_udp_bound(self.phone_ip, 5060)
        trunk_out = os.path.join(self.work, prefix + "trunk.txt")
        trunk = self.sipp_run(prefix + "trunk", scenario, self.trunk_ip, 5080,
                              remote="%s:5060" % self.icegate_ip,
                              extra=["-s", user, "-mi", self.trunk_ip, "-mp", 6000, "-rtp_echo",
                                     "-key", "outfile", trunk_out] + list(extra))
        return phone, trunk, self.wait_file(phone_out), trunk_out

    def finish_trunk_call(self, trunk, phone, trunk_out, nth=1):
        """The trunk hangs up the nth call of this icegate once icegate connected it (its 200
        reaches the trunk only after ICE/DTLS on the phone leg); returns icegate's log."""
        trunk_call = self.wait_file(trunk_out)
        self.wait_log(r"(?:call c\d+: connected(?:.*\n)*.*){%d}" % nth)
        self.send_go(self.trunk_ip, 5080, trunk_call["call_id"])
        trunk.expect_success()
        phone.expect_success()
        self.wait_log(r"(?:media closed: A in(?:.*\n)*.*){%d}" % nth)
        return self.log()

    def check_answer_waited(self, log, waiting, event):
        """icegate logged `waiting` (B answered), then `event` on the phone leg, then sent the
        200 to the trunk ('connected'), in that order. Returns the call id."""
        m = re.search(r"call (c\d+): " + waiting, log)
        self.check(m, "icegate must hold the trunk's 200: no '%s' in the log" % waiting)
        cid = m.group(1)
        event_at = log.find("call %s: %s" % (cid, event))
        connected_at = log.find("call %s: connected" % cid)
        self.check(0 <= m.start() < event_at < connected_at,
                   "order must be: %s, %s, connected (200 to the trunk)" % (waiting, event))
        return cid

    def register(self, user, password, expires=600, name=None, ip=None, port=5060,
                 scenario="phone_register.xml", extra=()):
        """A REGISTER with digest auth from the phone's address; returns the finished Sipp."""
        s = self.sipp_run(name or "register-%s" % user, scenario, ip or self.phone_ip, port,
                          remote="%s:5060" % self.icegate_ip,
                          extra=["-s", user, "-au", user, "-ap", password,
                                 "-key", "expires", expires] + list(extra))
        s.expect_success()
        return s

    @staticmethod
    def offer_keys(proto="RTP/AVP", sdp_extra=()):
        """sipp -key arguments for invite_final.xml's offer: its proto and more attribute lines."""
        return ["-key", "proto", proto, "-key", "sdp_extra", "\r\n".join(sdp_extra)]

    def invite_final(self, to_user, ip, port=5060, name=None, max_forwards=70, extra=(),
                     proto="RTP/AVP", sdp_extra=()):
        """One INVITE from ip:port (a plain RTP offer unless `proto`/`sdp_extra` say otherwise);
        returns icegate's final status code."""
        name = name or "invite-%s-from-%s" % (to_user, ip)
        out = os.path.join(self.work, name + ".txt")
        s = self.sipp_run(name, "invite_final.xml", ip, port, remote="%s:5060" % self.icegate_ip,
                          extra=["-s", to_user, "-key", "outfile", out, "-mi", ip, "-mp", 6500,
                                 "-key", "max_forwards", max_forwards]
                          + self.offer_keys(proto, sdp_extra) + list(extra))
        s.expect_success()
        return int(self.wait_file(out)["final"])

    def phone_invite_final(self, to_user, user, password, name, **offer):
        """A softphone's INVITE (ICE offer, one 407 round) that icegate refuses: the code."""
        out = os.path.join(self.work, name + ".txt")
        s = self.sipp_run(name, "phone_invite_final.xml", self.phone_ip, 5060,
                          remote="%s:5060" % self.icegate_ip,
                          extra=["-s", to_user, "-au", user, "-ap", password, "-key", "from_user",
                                 user, "-key", "outfile", out] + self.phone_keys(**offer))
        s.expect_success()
        return int(self.wait_file(out)["final"])

    def register_final(self, user, password, ip, port=5060, expires=600, name=None,
                       auth_user=None):
        """One REGISTER (answering a challenge once); returns (first, final) status codes,
        final None when the first answer was not a challenge. The Sipp is in self.last."""
        name = name or "register-final-%s-from-%s" % (user, ip)
        out = os.path.join(self.work, name + ".txt")
        s = self.sipp_run(name, "register_final.xml", ip, port, remote="%s:5060" % self.icegate_ip,
                          extra=["-s", user, "-au", auth_user or user, "-ap", password,
                                 "-key", "expires", expires, "-key", "outfile", out])
        s.expect_success()
        self.last = s
        v = self.wait_file(out)
        return int(v["first"]), (int(v["final"]) if v.get("final") else None)

    def phone_call(self, to_user, user, password, name="phone", **offer):
        """Starts phone_call.xml (INVITE with ICE offer, 407 round); returns (Sipp, outfile)."""
        out = os.path.join(self.work, name + "-answer.txt")
        s = self.sipp_run(name, "phone_call.xml", self.phone_ip, 5060,
                          remote="%s:5060" % self.icegate_ip,
                          extra=["-s", to_user, "-au", user, "-ap", password,
                                 "-key", "from_user", user, "-key", "outfile", out]
                          + self.phone_keys(**offer))
        return s, out

    def phone_call_in_steps(self, scenario, outfile, outfile2, to_user="0049301234"):
        """A phone scenario (user 1001) that writes icegate's answer to `outfile`, then waits for
        cues: a mid-call step whose result goes to `outfile2`, then the hang-up."""
        return self.sipp_run("phone", scenario, self.phone_ip, 5060,
                             remote="%s:5060" % self.icegate_ip,
                             extra=["-s", to_user, "-au", "1001", "-ap", "1001secret",
                                    "-key", "from_user", "1001", "-key", "outfile", outfile,
                                    "-key", "outfile2", outfile2] + self.phone_keys())

    def media_through(self, answer, port=40000, **kw):
        """ice_phone against icegate's answer; asserts ICE and echoed RTP. Returns the summary."""
        self.check(answer["addr"] == self.icegate_ip and
                   answer["cand"] == "%s:%s" % (self.icegate_ip, answer["port"]),
                   "icegate's SDP must name its media address and port in c=, m= and the host "
                   "candidate: %s" % answer)
        lo, hi = self.rtp_range
        self.check(lo <= int(answer["port"]) <= hi, "port outside the RTP range: %s" % answer)
        ice = self.ice_phone(answer["addr"], answer["port"], answer["ufrag"], answer["pwd"],
                             port=port, **kw)
        ice.wait_ready()
        rc, res = ice.result()
        self.note("ice_phone: " + ice.summary)
        self.check(rc == 0, "ice_phone failed (exit %d): %s" % (rc, ice.summary))
        self.check(res["mapped"] == "%s:%d" % (self.phone_ip, port),
                   "XOR-MAPPED-ADDRESS must be the phone's socket: %s" % ice.summary)
        self.check(res["rtp_foreign"] == 0, "RTP from an unexpected source: %s" % ice.summary)
        return res

    def wait_udp_bound(self, ip, port, timeout=15):
        """Until some process has a UDP socket bound to ip:port (read from /proc/net/udp)."""
        want = "%s:%04X" % ("".join("%02X" % int(b) for b in reversed(ip.split("."))), port)

        def bound():
            self.check_icegate()
            for p in self.procs:
                if p.poll() not in (None, 0):
                    raise TestFailure("%s exited with %d while waiting for udp %s:%d to be bound"
                                      % (" ".join(map(str, p.args[:3])), p.returncode, ip, port))
            with open("/proc/net/udp") as f:
                return any(line.split()[1] == want for line in list(f)[1:])

        if not poll(bound, timeout):
            raise TestFailure("nothing listens on udp %s:%d after %s s" % (ip, port, timeout))

    def phone_keys(self, port=40000, candidates=None, c_ip=None, ufrag="phoneufrag",
                   pwd="phonepassword0123456789", proto="RTP/AVP", extra=()):
        """sipp -key arguments for the ICE offer/answer of the phone scenarios; `extra` are
        more attribute lines (a=fingerprint, a=setup, a=crypto) after the candidates."""
        if candidates is None:
            candidates = ["a=candidate:1 1 UDP 2130706431 %s %d typ host" % (self.phone_ip, port)]
        candidates = list(candidates) + list(extra)
        return ["-key", "c_ip", c_ip or self.phone_ip, "-key", "ice_port", port, "-key", "proto", proto,
                "-key", "ufrag", ufrag, "-key", "pwd", pwd,
                # several lines in one key: sipp copies the value verbatim, CRLF included
                "-key", "candidates", "\r\n".join(candidates)]

    def wait_file(self, path, timeout=20):
        """Key=value lines a sipp <exec> wrote once (atomically, via mv)."""
        if not poll(lambda: self.check_icegate() or os.path.exists(path), timeout):
            raise TestFailure("timed out waiting for %s (written by a sipp <exec> action)" % path)
        values = {}
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    values[k] = v
        return values

    def ice_phone(self, icegate_addr, icegate_port, ufrag, pwd, port=40000, packets=25,
                  min_rtp=20, local_ufrag="phoneufrag", local_pwd="phonepassword0123456789",
                  wait_request_ms=0, extra_args=()):
        """Starts ice_phone on the phone's address; see IcePhone. `extra_args`: more ice_phone
        arguments (--dtls ROLE --cert-dir D --peer-fingerprint F, --ice-timeout-ms N ...)."""
        cmd = [self.ice_phone_bin, "--local", "%s:%d" % (self.phone_ip, port),
               "--remote", "%s:%s" % (icegate_addr, icegate_port), "--remote-ufrag", ufrag,
               "--remote-pwd", pwd, "--local-ufrag", local_ufrag, "--local-pwd", local_pwd,
               "--packets", str(packets), "--min-rtp", str(min_rtp),
               "--wait-request-ms", str(wait_request_ms)] + list(extra_args)
        return IcePhone(self, cmd)

    def phone_certificate(self, name="phone"):
        """A fresh certificate for ice_phone in a directory of the test: (dir, fingerprint)."""
        d = os.path.join(self.work, name + "-cert")
        os.makedirs(d, exist_ok=True)
        fp = subprocess.run([self.ice_phone_bin, "--make-cert", d], check=True,
                            capture_output=True, text=True).stdout.strip()
        self.check(fp.startswith("sha-256 "), "ice_phone --make-cert printed %r" % fp)
        return d, fp

    def send_go(self, sipp_ip, sipp_port, call_id):
        """The test driver's cue to a waiting sipp scenario (<recv request="INFO">): sent
        straight to sipp, not through icegate, once the media check is done."""
        msg = ("INFO sip:go@{ip}:{port} SIP/2.0\r\n"
               "Via: SIP/2.0/UDP {me}:9;branch=z9hG4bK-go-{t}\r\n"
               "From: <sip:driver@{me}>;tag=driver\r\n"
               "To: <sip:sipp@{ip}>\r\n"
               "Call-ID: {cid}\r\n"
               "CSeq: 1 INFO\r\n"
               "Max-Forwards: 70\r\n"
               "X-Test: go\r\n"
               "Content-Length: 0\r\n\r\n").format(ip=sipp_ip, port=sipp_port, me=self.ip(9),
                                                    cid=call_id, t=time.monotonic_ns())
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((self.ip(9), 0))
            s.sendto(msg.encode(), (sipp_ip, int(sipp_port)))
        finally:
            s.close()

    # -- log helpers -----------------------------------------------------------------------
    def media_closed(self):
        """[(a_in, b_in)] packet counters of every 'media closed' line."""
        out = []
        for m in re.finditer(r"media closed: A in (\d+) pkts.*?\| B in (\d+) pkts", self.log()):
            out.append((int(m.group(1)), int(m.group(2))))
        return out


class IcePhone:
    """ice_phone in the background: a "ready" line once bound, a JSON summary at the end."""

    def __init__(self, env, cmd):
        self.env, self.cmd = env, cmd
        self.out_path = os.path.join(env.work, "ice_phone.out")
        with open(self.out_path, "a") as f:
            f.write(" ".join(cmd) + "\n")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        env.procs.append(self.proc)
        self.lines = []

    def _line(self):
        line = self.proc.stdout.readline()
        if line:
            self.lines.append(line)
            with open(self.out_path, "a") as f:
                f.write(line)
        return line

    def wait_ready(self):
        # Blocks on the pipe; ice_phone writes this line right after bind() or exits.
        line = self._line()
        if '"ready":true' not in line:
            rest = self.proc.stdout.read()
            raise TestFailure("ice_phone did not start: %s%s" % (line, rest))

    def result(self, timeout=30):
        """(exit code, summary dict); ice_phone bounds its own run time."""
        try:
            rest, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate()
            raise TestFailure("ice_phone did not finish within %s s" % timeout)
        with open(self.out_path, "a") as f:
            f.write(rest + "exit %d\n" % self.proc.returncode)
        summary = (rest.strip().splitlines() or [""])[-1]
        try:
            data = json.loads(summary)
        except ValueError:
            data = {}
        self.summary = summary
        return self.proc.returncode, data
