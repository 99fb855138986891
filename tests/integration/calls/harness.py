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
Waiting is always polling with a deadline; nothing sleeps to let time pass. A peer is used only
once it is proven to listen: wait_listening (its socket is bound, by that very process, in the
right network namespace) or wait_sip_answers (it answers a SIP OPTIONS).
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import struct
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


# -- readiness: is a peer listening? ----------------------------------------------------------
# A datagram or a connection sent to a peer before its socket exists is lost (ICMP port
# unreachable: icegate turns it into a 503) or refused. So every driver waits, with a deadline,
# until the peer it started has its socket, and only then sends it anything. The answer comes
# from the kernel's socket tables (/proc/<pid>/net/{udp,tcp}{,6}) of the process's own network
# namespace, and the socket must be open in that process (or a child of it): a socket of someone
# else on the same address, or the root namespace's table read while `ip netns exec` has not yet
# entered the namespace, does not count.
_UDP_UNCONNECTED, _TCP_LISTEN = "07", "0A"


def _proc_hex(ip):
    """An address as /proc/net/{udp,tcp}{,6} print it: each 32-bit word in host byte order."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    packed = socket.inet_pton(family, ip)
    return "".join("%08X" % struct.unpack("=I", packed[i:i + 4])[0]
                   for i in range(0, len(packed), 4))


def _accepting(ip):
    """The local addresses (hex, as in /proc) of sockets that receive what is sent to ip."""
    if ":" in ip:
        return {_proc_hex(ip), _proc_hex("::")}
    return {_proc_hex(ip), _proc_hex("0.0.0.0"), _proc_hex("::ffff:" + ip), _proc_hex("::")}


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _descendants(pid):
    """pid and its descendants (sipp and icegate are the process itself; a wrapper such as
    `ip netns exec` or stdbuf execs its command in place, but a shell would fork)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in os.listdir("/proc/%d/task" % p) if os.path.isdir("/proc/%d/task" % p) else ():
            todo += [int(c) for c in _read("/proc/%d/task/%s/children" % (p, task)).split()]
    return out


def _socket_inodes(pids):
    inodes = set()
    for p in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (p, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    return inodes


def _same_netns(pid, netns):
    try:
        return os.stat("/proc/%d/ns/net" % pid).st_ino == os.stat("/run/netns/" + netns).st_ino
    except OSError:
        return False


def listening(proto, ip, port, pid=None, netns=None):
    """True when a `proto` ("udp" or "tcp") socket would take what is sent to ip:port: a UDP
    socket bound there (not connected elsewhere) or a TCP socket in LISTEN.
    pid: the socket must be open in that process (or a descendant), read in its namespace, which
    must be `netns` when that is given too. netns alone: any socket in that namespace
    (ip netns exec NS cat /proc/net/...). Neither: any socket in this process's namespace."""
    names = [proto, proto + "6"]
    if pid is not None:
        if netns and not _same_netns(pid, netns):
            return False  # `ip netns exec` has not entered the namespace yet
        text = "".join(_read("/proc/%d/net/%s" % (pid, n)) for n in names)
        owned = _socket_inodes(_descendants(pid))
    elif netns:
        r = subprocess.run(["ip", "netns", "exec", netns, "cat"] + ["/proc/net/" + n for n in names],
                           capture_output=True, text=True, timeout=10)
        text, owned = r.stdout, None
    else:
        text, owned = "".join(_read("/proc/net/" + n) for n in names), None
    want_state = _TCP_LISTEN if proto == "tcp" else _UDP_UNCONNECTED
    wanted = {"%s:%04X" % (a, port) for a in _accepting(ip)}
    for line in text.splitlines():
        f = line.split()
        # sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        if len(f) < 10 or f[1] not in wanted or f[3] != want_state:
            continue
        if owned is None or f[9] in owned:
            return True
    return False


def wait_listening(proto, ip, port, proc=None, netns=None, timeout=15, alive=None, what=None):
    """Until `proc` (a Popen; None: anybody) listens on proto ip:port (see listening()), with a
    deadline. Fails at once when proc exits first; alive() is called on every poll and may
    raise (icegate died, ...)."""
    name = what or (" ".join(os.path.basename(str(a)) for a in proc.args[:4]) if proc else "a peer")

    def ready():
        if alive:
            alive()
        if proc is not None and proc.poll() is not None:
            raise TestFailure("%s exited with %s before it listened on %s %s:%d"
                              % (name, proc.returncode, proto, ip, port))
        return listening(proto, ip, port, pid=proc.pid if proc else None, netns=netns)

    if not poll(ready, timeout):
        raise TestFailure("%s does not listen on %s %s:%d%s after %s s"
                          % (name, proto, ip, port, " (netns %s)" % netns if netns else "", timeout))


def wait_sip_answers(ip, port, source_ip, timeout=15, alive=None, what="the SIP peer"):
    """Until ip:port answers a SIP OPTIONS over UDP (any response: 200, 403 from an ACL, ...),
    sent from source_ip and retransmitted every 0.5 s (RFC 3261 §17.1.2.1, T1) within the
    deadline. Proves the peer's SIP stack runs, not only that its socket exists."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source_ip, 0))
    me = s.getsockname()[1]
    call_id = "ready-%d-%d@icegate-test" % (os.getpid(), time.monotonic_ns())
    msg = ("OPTIONS sip:{ip}:{port} SIP/2.0\r\n"
           "Via: SIP/2.0/UDP {me}:{mp};rport;branch=z9hG4bK-ready-{n}\r\n"
           "From: <sip:ready@{me}>;tag=ready\r\nTo: <sip:{ip}:{port}>\r\n"
           "Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n").format(ip=ip, port=port, me=source_ip, mp=me,
                                                    cid=call_id, n=time.monotonic_ns()).encode()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if alive:
                alive()
            try:
                s.sendto(msg, (ip, int(port)))
            except ConnectionRefusedError:  # an earlier ICMP port unreachable, reported now
                pass
            s.settimeout(max(0.01, min(0.5, deadline - time.monotonic())))
            try:
                while True:
                    reply = s.recv(65535)
                    if reply.startswith(b"SIP/2.0 ") and call_id.encode() in reply:
                        return reply.split(b"\r\n", 1)[0].decode(errors="replace")
            except (socket.timeout, ConnectionRefusedError):
                pass
            if time.monotonic() >= deadline:
                raise TestFailure("%s at %s:%d answered no SIP OPTIONS within %s s"
                                  % (what, ip, port, timeout))
    finally:
        s.close()



def wait_stun_answers(ip, port, timeout=15, alive=None, what="the STUN server"):
    """Until ip:port answers a STUN Binding request (RFC 5389 §7.2.1: retransmitted, here every
    0.25 s) with a response of the same transaction, within the deadline."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    tid = os.urandom(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid
    deadline = time.monotonic() + timeout
    try:
        while True:
            if alive:
                alive()
            try:
                s.sendto(request, (ip, int(port)))
            except ConnectionRefusedError:
                pass
            s.settimeout(max(0.01, min(0.25, deadline - time.monotonic())))
            try:
                while True:
                    reply = s.recv(2048)
                    # 0x0101 success, 0x0111 error: either way the server runs.
                    if len(reply) >= 20 and reply[0:2] in (b"\x01\x01", b"\x01\x11") \
                            and reply[8:20] == tid:
                        return
            except (socket.timeout, ConnectionRefusedError):
                pass
            if time.monotonic() >= deadline:
                raise TestFailure("%s at %s:%d answered no STUN Binding request within %s s"
                                  % (what, ip, port, timeout))
    finally:
        s.close()


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

    def wait_listening(self, ip, port, timeout=15):
        """Until this sipp has its UDP socket on ip:port."""
        self.env.wait_listening("udp", ip, int(port), self.proc, timeout,
                                what="sipp %s (%s)" % (self.name, self.scenario))

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
        admin = root.find("admin")
        if admin is not None:  # each test's own address: tests run side by side
            admin.set("address", self.icegate_ip)
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
        # Ready means: every SIP listener of the configuration is a socket of this icegate, and
        # its SIP stack answers (an OPTIONS from an address of the test's own).
        for listener in ET.parse(config_path).getroot().find("sip").findall("listener"):
            transport = listener.get("transport", "udp")
            port = int(listener.get("port", 5061 if transport == "tls" else 5060))
            self.wait_listening("udp" if transport == "udp" else "tcp", listener.get("address"),
                                port, self.icegate, what="icegate")
        wait_sip_answers(self.icegate_ip, 5060, self.ip(8), 30, alive=self.check_icegate,
                         what="icegate")

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
        """sipp with a scenario. Without `remote` it is a UAS (a trunk or a called phone): this
        returns only once it listens on local_ip:local_port and, with -rtp_echo, on its media
        port, so whatever icegate sends it next is not lost. A UAC (`remote`) binds its port
        before it sends its first request, so answers to it always find it."""
        args = ["-i", local_ip, "-p", local_port, "-m", 1, "-timeout", "40s", "-timeout_error",
                "-default_behaviors", "all,-bye",
                "-key", "write_kv", os.path.join(HERE, "write_kv.sh"),
                "-max_recv_loops", 1000]
        args += list(extra)
        if remote:
            args.append(remote)
        sipp = Sipp(self, name, scenario, args)
        if not remote:
            sipp.wait_listening(local_ip, local_port)
            extra = [str(a) for a in extra]
            if "-rtp_echo" in extra and "-mp" in extra:
                mi = extra[extra.index("-mi") + 1] if "-mi" in extra else local_ip
                sipp.wait_listening(mi, int(extra[extra.index("-mp") + 1]))
        return sipp

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

    def media_through(self, answer, port=40000, default_addr=None, **kw):
        """ice_phone against icegate's answer; asserts ICE and echoed RTP. Returns the summary.
        c= names `default_addr` (the srflx when icegate offers one), else the media address."""
        self.check(answer["addr"] == (default_addr or self.icegate_ip) and
                   answer["cand"] == "%s:%s" % (self.icegate_ip, answer["port"]),
                   "icegate's SDP must name its default address in c=, its media address and "
                   "port in m= and the host candidate: %s" % answer)
        lo, hi = self.rtp_range
        self.check(lo <= int(answer["port"]) <= hi, "port outside the RTP range: %s" % answer)
        ice = self.ice_phone(self.icegate_ip, answer["port"], answer["ufrag"], answer["pwd"],
                             port=port, **kw)
        ice.wait_ready()
        rc, res = ice.result()
        self.note("ice_phone: " + ice.summary)
        self.check(rc == 0, "ice_phone failed (exit %d): %s" % (rc, ice.summary))
        self.check(res["mapped"] == "%s:%d" % (self.phone_ip, port),
                   "XOR-MAPPED-ADDRESS must be the phone's socket: %s" % ice.summary)
        self.check(res["rtp_foreign"] == 0, "RTP from an unexpected source: %s" % ice.summary)
        return res

    def wait_listening(self, proto, ip, port, proc=None, timeout=15, what=None):
        """wait_listening() for a process of this test; fails at once when that process or
        icegate exits meanwhile."""
        wait_listening(proto, ip, port, proc=proc, timeout=timeout, alive=self.check_icegate,
                       what=what)

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

    def wait_ready(self, timeout=15):
        """ice_phone writes {"ready":true} right after bind(), or exits: that line within the
        deadline, then its socket on the --local address."""
        if not poll(lambda: select.select([self.proc.stdout], [], [], 0)[0], timeout):
            self.proc.kill()
            raise TestFailure("ice_phone wrote nothing within %s s: %s" % (timeout, self.cmd))
        line = self._line()
        if '"ready":true' not in line:
            rest = self.proc.stdout.read()
            raise TestFailure("ice_phone did not start: %s%s" % (line, rest))
        # The line is written after bind(); the socket itself confirms it (unless ice_phone
        # is already done: a short run may end before this look).
        ip, port = self.cmd[self.cmd.index("--local") + 1].rsplit(":", 1)
        if not poll(lambda: self.proc.poll() is not None or
                    listening("udp", ip, int(port), pid=self.proc.pid), timeout):
            raise TestFailure("ice_phone said ready but has no socket on udp %s:%s" % (ip, port))

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


def main(argv):
    """The readiness helpers for the shell drivers (stun/lib.sh: coturn):
        harness.py listening udp|tcp IP PORT [--pid PID] [--netns NS] [--timeout S]
        harness.py stun IP PORT [--timeout S]
    exit 0 once ready, 1 with the reason on stdout at the deadline."""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    lp = sub.add_parser("listening")
    lp.add_argument("proto", choices=("udp", "tcp"))
    sp = sub.add_parser("stun")
    for p in (lp, sp):
        p.add_argument("ip")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=15)
    lp.add_argument("--pid", type=int)
    lp.add_argument("--netns")
    a = ap.parse_args(argv)
    try:
        if a.what == "stun":
            wait_stun_answers(a.ip, a.port, a.timeout)
        else:
            def alive():
                stat = _read("/proc/%d/stat" % a.pid) if a.pid is not None else "x) R"
                if not stat or stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    raise TestFailure("process %d exited before it listened on %s %s:%d"
                                      % (a.pid, a.proto, a.ip, a.port))
            name = "process %d" % a.pid if a.pid is not None else "a peer"
            if not poll(lambda: alive() or listening(a.proto, a.ip, a.port, a.pid, a.netns),
                        a.timeout):
                raise TestFailure("%s does not listen on %s %s:%d%s after %s s"
                                  % (name, a.proto, a.ip, a.port,
                                     " (netns %s)" % a.netns if a.netns else "", a.timeout))
    except TestFailure as e:
        print(e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
