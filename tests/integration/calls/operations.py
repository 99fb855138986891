#!/usr/bin/env python3
"""Operating icegate (issue 12): the admin listener's metrics and control API, with real calls.

icegate (127.0.62.1, admin listener on :8060 with a bearer token) serves:
- /metrics: the Prometheus text is well formed (every sample after its family's # TYPE line,
  a family's samples together, values numbers) and each figure a call moves moves: REGISTER and
  INVITE counts, registrations_active, auth failures (a wrong REGISTER password), ACL rejections
  (INVITE and REGISTER from the blacklisted 127.0.62.66), calls_total{outbound,200}, the setup
  histogram, relay packets on both legs both ways, ICE checks answered and connected;
- /api/v1/calls during a phone -> trunk call: both legs' Call-IDs (A's is the phone's, B's the
  one the trunk got), direction, states, the ICE selected pair (ice_phone's socket); `icegate ctl
  calls` prints it as a table, `--json` as JSON;
- hang-up through the API (POST .../hangup) and through `icegate ctl hangup`: icegate sends BYE
  to both the phone and the trunk (both sipp scenarios end only on that BYE);
- /api/v1/registrations (source, transport, behind_nat for a Contact that names another address)
  and /api/v1/trunks;
- bad input changes nothing: no or a wrong token -> 401 (a hang-up without it leaves the call
  up), a malformed call id -> 400, an unknown call -> 404, a reload of a broken file -> 422 with
  the errors, and the daemon runs on;
- drain: 202, a new INVITE gets 503 with Retry-After, the running call goes on until the phone
  hangs up, and then icegate exits 0 by itself.
"""
import json
import math
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env, TestFailure, poll

TOKEN = "ops-test-token-0f3a9c"
TRUNK_NUMBER = "0049301234"

env = Env("operations", net=62)
bad = env.ip(66)  # blacklisted in both SIP ACLs
base = "http://%s:8060" % env.icegate_ip


# -- HTTP (standard library only) ---------------------------------------------------------------
def http(method, path, token=TOKEN):
    """(status, headers, body text) of one request to the admin listener."""
    req = urllib.request.Request(base + path, method=method,
                                 data=b"" if method == "POST" else None)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def api(method, path, want=200, token=TOKEN):
    """The JSON body of a request that must get `want`."""
    status, headers, body = http(method, path, token)
    env.check(status == want, "%s %s: got %d, want %d: %s" % (method, path, status, want, body))
    env.check(headers.get("Content-Type", "").startswith("application/json"),
              "%s %s: Content-Type %r, want application/json" % (method, path,
                                                                 headers.get("Content-Type")))
    try:
        return json.loads(body)
    except ValueError:
        raise TestFailure("%s %s: the body is not JSON: %r" % (method, path, body))


# -- the Prometheus text format (0.0.4), parsed -------------------------------------------------
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text, pos, line):
    """Labels from text[pos] == '{' up to the closing '}': (dict, position after it)."""
    labels = {}
    pos += 1
    while True:
        if text[pos] == "}":
            return labels, pos + 1
        m = LABEL.match(text, pos)
        if not m or text[m.end()] != "=" or text[m.end() + 1] != '"':
            raise TestFailure("metrics: bad label at column %d: %r" % (pos, line))
        name, pos = m.group(0), m.end() + 2
        value = []
        while text[pos] != '"':
            if text[pos] == "\\":
                esc = text[pos + 1]
                if esc not in ('\\', '"', 'n'):
                    raise TestFailure("metrics: bad escape \\%s: %r" % (esc, line))
                value.append("\n" if esc == "n" else esc)
                pos += 2
            else:
                value.append(text[pos])
                pos += 1
        pos += 1
        if name in labels:
            raise TestFailure("metrics: label %s twice: %r" % (name, line))
        labels[name] = "".join(value)
        if text[pos] == ",":
            pos += 1
        elif text[pos] != "}":
            raise TestFailure("metrics: expected , or } at column %d: %r" % (pos, line))


def family_of(name, types):
    """The family a sample name belongs to: itself, or for a histogram name_bucket/_sum/_count
    (a summary: name_sum/_count); None without a # TYPE line for it."""
    if types.get(name) in ("counter", "gauge", "untyped"):
        return name
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in kinds:
            return name[:-len(suffix)]
    if types.get(name) == "summary":  # the quantile samples
        return name
    return None


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value}; raises on anything that is not well formed."""
    env.check(text.endswith("\n"), "metrics: the text must end with a newline")
    types, samples, done, current = {}, {}, set(), None
    for line in text.split("\n")[:-1]:
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                env.check(NAME.fullmatch(parts[2]), "metrics: bad family name: %r" % line)
                if parts[1] == "TYPE":
                    env.check(len(parts) == 4 and parts[3] in TYPES, "metrics: bad TYPE: %r" % line)
                    env.check(parts[2] not in types, "metrics: second TYPE for %s" % parts[2])
                    env.check(parts[2] not in done, "metrics: TYPE for %s after its samples" % parts[2])
                    types[parts[2]] = parts[3]
            continue
        m = NAME.match(line)
        env.check(m, "metrics: a sample line must start with a metric name: %r" % line)
        name, pos, labels = m.group(0), m.end(), {}
        if pos < len(line) and line[pos] == "{":
            try:
                labels, pos = parse_labels(line, pos, line)
            except IndexError:
                raise TestFailure("metrics: unterminated labels: %r" % line)
        rest = line[pos:].split()
        env.check(line[pos:pos + 1] == " " and 1 <= len(rest) <= 2,
                  "metrics: want 'name{labels} value [timestamp]': %r" % line)
        try:
            value = float(rest[0])  # Go's ParseFloat spellings: +Inf, -Inf, NaN are fine too
        except ValueError:
            raise TestFailure("metrics: value is not a number: %r" % line)
        env.check(rest[0] in ("+Inf", "-Inf", "NaN") or not math.isinf(value),
                  "metrics: bad value spelling: %r" % line)
        fam = family_of(name, types)
        env.check(fam is not None, "metrics: sample %s has no # TYPE line before it" % name)
        if fam != current:  # a family's samples form one group
            env.check(fam not in done, "metrics: samples of %s are not together" % fam)
            if current:
                done.add(current)
            current = fam
        if types[fam] == "histogram" and name.endswith("_bucket"):
            env.check("le" in labels, "metrics: a histogram bucket without le: %r" % line)
        key = (name, frozenset(labels.items()))
        env.check(key not in samples, "metrics: the same sample twice: %r" % line)
        samples[key] = value
    return Metrics(samples, types)


class Metrics:
    def __init__(self, samples, types):
        self.samples, self.types = samples, types

    def get(self, name, **labels):
        """The sample's value; a labelled sample not (yet) listed counts 0."""
        key = (name, frozenset(labels.items()))
        if key in self.samples:
            return self.samples[key]
        env.check(family_of(name, self.types) is not None, "metrics: no family for %s" % name)
        return 0.0

    def check_histogram(self, name):
        """Buckets cumulative, +Inf bucket == _count."""
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in self.samples.items()
                          if k[0] == name + "_bucket"), key=lambda b: b[0])
        env.check(buckets and buckets[-1][0] == math.inf, "%s: no +Inf bucket" % name)
        env.check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
                  "%s: buckets not cumulative: %s" % (name, buckets))
        env.check(buckets[-1][1] == self.get(name + "_count"),
                  "%s: +Inf bucket %s != _count %s" % (name, buckets[-1][1], self.get(name + "_count")))


def metrics():
    status, headers, body = http("GET", "/metrics")
    env.check(status == 200, "GET /metrics: %d %s" % (status, body))
    env.check(headers.get("Content-Type", "").startswith("text/plain"),
              "GET /metrics: Content-Type %r" % headers.get("Content-Type"))
    return parse_metrics(body)


def metrics_settled(done, what, timeout=10):
    """Metrics once done(m) holds (a call's end is counted when icegate frees it, a moment after
    the last SIP answer), with a deadline."""
    m = poll(lambda: (lambda m: m if done(m) else None)(metrics()), timeout, interval=0.1)
    env.check(m, "metrics: %s within %s s" % (what, timeout))
    return m


# -- icegate ctl ----------------------------------------------------------------------------------
def ctl(*args, want=0):
    r = subprocess.run([env.icegate_bin, "ctl", "-c", config] + list(args),
                       capture_output=True, text=True, timeout=30)
    shown = "\n".join(r.stdout.splitlines()[:12])
    env.note("icegate ctl %s -> %d\n%s\n%s" % (" ".join(args), r.returncode, shown, r.stderr))
    env.check(r.returncode == want, "icegate ctl %s exited %d, want %d: %s%s"
              % (" ".join(args), r.returncode, want, r.stdout, r.stderr))
    return r.stdout


# -- calls ----------------------------------------------------------------------------------------
def start_call(name):
    """A phone -> trunk call with ICE and media proven (phone_call.xml + trunk_uas.xml); returns
    (phone Sipp, trunk Sipp, icegate's answer, phone outfile, the call's JSON from the API)."""
    trunk = env.trunk_uas(name=name + "-trunk")
    phone, outfile = env.phone_call(TRUNK_NUMBER, "1001", "1001secret", name=name + "-phone")
    answer = env.wait_file(outfile)
    env.media_through(answer)

    def ours(c):  # connected, and the relay's figures for the media ice_phone sent are in
        media = c["a"].get("media", {})
        return (c["a"]["call_id"] == answer["call_id"] and c["state"] == "connected"
                and (media.get("ice") or {}).get("selected_pair")
                and media.get("packets_in", 0) > 0 and c["b"].get("media", {}).get("packets_in", 0) > 0)

    listed = poll(lambda: [c for c in api("GET", "/api/v1/calls")["calls"] if ours(c)], 10, 0.2)
    env.check(listed, "GET /api/v1/calls: no connected call with media whose A leg has the "
              "phone's Call-ID %s: %s" % (answer["call_id"], api("GET", "/api/v1/calls")))
    return phone, trunk, answer, outfile, listed[0]


def ended_by_icegate(phone, trunk, outfile, how):
    """Both sipp scenarios end only on icegate's BYE (trunk_uas.xml waits for it, phone_call.xml
    takes it instead of the cue and writes OUTFILE.bye)."""
    trunk.expect_success()
    phone.expect_success()
    env.check(os.path.exists(outfile + ".bye"), "%s: the phone must get icegate's BYE" % how)
    env.check("BYE sip:" in trunk.text(), "%s: the trunk must get icegate's BYE" % how)


def invite_call_id(sipp):
    """The Call-ID of the first INVITE in a sipp's message trace."""
    text = sipp.text()
    i = text.find("INVITE sip:")
    m = re.search(r"^Call-ID: *(\S+)", text[i:], re.M | re.I) if i >= 0 else None
    env.check(m, "no INVITE in %s's trace" % sipp.name)
    return m.group(1)


with env:
    # The parser itself refuses what is not well formed (so that passing it means something).
    for bad_text in ("x_total 1\n",  # no # TYPE line
                     "# TYPE x gauge\nx 1\n# TYPE x gauge\n",  # TYPE twice
                     "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 2\n",  # split
                     "# TYPE x gauge\nx{a=b} 1\n",  # unquoted label value
                     "# TYPE x gauge\nx{a=\"b\" 1\n",  # unterminated labels
                     "# TYPE x gauge\nx one\n",  # not a number
                     "# TYPE h histogram\nh_total 1\n"):  # not a histogram sample name
        try:
            parse_metrics(bad_text)
        except TestFailure:
            continue
        raise TestFailure("the metrics parser accepted %r" % bad_text)
    good = parse_metrics('# HELP h t\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 0.5\n'
                         'h_count 2\n# TYPE g gauge\ng{a="q\\"x\\\\"} NaN\n')
    env.check(good.get("h_count") == 2 and math.isnan(good.get("g", a='q"x\\')),
              "the metrics parser misread a well-formed text: %s" % good.samples)

    entries = [("whitelist", "127.0.0.0/8"), ("blacklist", "%s/32" % bad)]
    config = env.config(acls={"sip_in": entries, "phones": entries},
                        policy={"sip-inbound": "sip_in", "sip-register": "phones"})
    tree = ET.parse(config)
    admin = tree.getroot().find("admin")
    env.check(admin is not None and admin.get("address") == env.icegate_ip,
              "the generated configuration must put <admin> on %s" % env.icegate_ip)
    admin.set("token", TOKEN)
    tree.write(config, encoding="UTF-8", xml_declaration=True)
    with open(config, "rb") as f:
        good_config = f.read()
    env.start_icegate(config)
    env.wait_log(r"admin listener on http://%s:8060 \(bearer token\)" % re.escape(env.icegate_ip))
    env.wait_listening("tcp", env.icegate_ip, 8060, env.icegate, what="icegate's admin listener")

    m0 = metrics()
    health = api("GET", "/api/v1/health")
    env.check(health["status"] == "ok" and health["calls"] == 0, "health at start: %s" % health)

    # ---- registrations ---------------------------------------------------------------------
    env.register("1001", "1001secret")
    m = metrics()
    env.check(m.get("icegate_sip_requests_total", method="REGISTER")
              >= m0.get("icegate_sip_requests_total", method="REGISTER") + 2,
              "REGISTER count must grow by the challenged and the authenticated request")
    env.check(m.get("icegate_registrations_active") == 1,
              "registrations_active while 1001 is registered: %s" % m.get("icegate_registrations_active"))
    env.check(m.get("icegate_registrations_total") == m0.get("icegate_registrations_total") + 1,
              "registrations_total must count the accepted REGISTER")
    regs = api("GET", "/api/v1/registrations")["registrations"]
    r1001 = [r for r in regs if r["user"] == "1001"]
    env.check(len(r1001) == 1 and r1001[0]["source"] == "%s:5060" % env.phone_ip
              and r1001[0]["transport"] == "udp" and r1001[0]["behind_nat"] is False
              and r1001[0]["contact"] == "sip:1001@%s:5060" % env.phone_ip
              and 0 < r1001[0]["expires_in_s"] <= 600,
              "registration of 1001 (source, udp, not behind NAT): %s" % regs)

    # Wrong password: challenged again, counted as an authentication failure.
    first, final = env.register_final("1001", "wrong", env.phone_ip, name="reg-badpw")
    env.check((first, final) == (401, 401), "wrong password: got %s/%s, want 401/401" % (first, final))
    m = metrics()
    env.check(m.get("icegate_auth_failures_total", method="REGISTER")
              == m0.get("icegate_auth_failures_total", method="REGISTER") + 1,
              "a REGISTER with a wrong password must count one auth failure")
    env.check(m.get("icegate_registrations_active") == 1, "a refused REGISTER changes no binding")

    # A phone behind NAT: its Contact names an address other than the REGISTER's source.
    env.register("1002", "1002secret", name="reg-nat", ip=env.ip(5),
                 scenario="operations_register_nat.xml",
                 extra=["-key", "contact_host", "192.168.1.23:5062"])
    regs = {r["user"]: r for r in api("GET", "/api/v1/registrations")["registrations"]}
    env.check(set(regs) == {"1001", "1002"}, "registrations: %s" % regs)
    env.check(regs["1002"]["source"] == "%s:5060" % env.ip(5) and regs["1002"]["transport"] == "udp"
              and regs["1002"]["behind_nat"] is True
              and regs["1002"]["contact"] == "sip:1002@192.168.1.23:5062",
              "1002's Contact names 192.168.1.23 but came from %s: behind_nat must be true: %s"
              % (env.ip(5), regs["1002"]))
    env.check(regs["1001"]["behind_nat"] is False, "1001 is not behind NAT: %s" % regs["1001"])
    env.check(metrics().get("icegate_registrations_active") == 2, "two users registered")
    out = ctl("registrations")
    env.check(re.search(r"^1002 +%s:5060 +udp +yes " % re.escape(env.ip(5)), out, re.M)
              and re.search(r"^1001 +%s:5060 +udp +no " % re.escape(env.phone_ip), out, re.M),
              "icegate ctl registrations must show both users, source, transport and NAT:\n" + out)

    trunks = api("GET", "/api/v1/trunks")["trunks"]
    env.check(len(trunks) == 1 and trunks[0]["name"] == "pbx"
              and trunks[0]["addresses"] == ["%s:5080" % env.trunk_ip]
              and trunks[0]["transport"] == "udp" and trunks[0]["registration"] == "none",
              "GET /api/v1/trunks must show trunk pbx: %s" % trunks)
    env.check(re.search(r"^pbx +\S+ +udp +%s:5080 " % re.escape(env.trunk_ip), ctl("trunks"), re.M),
              "icegate ctl trunks must show pbx")

    # ---- ACL rejections ----------------------------------------------------------------------
    code = env.invite_final(TRUNK_NUMBER, bad)
    env.check(code == 403, "INVITE from blacklisted %s: got %d, want 403" % (bad, code))
    first, final = env.register_final("1001", "1001secret", bad)
    env.check((first, final) == (403, None), "REGISTER from blacklisted %s: %s/%s" % (bad, first, final))
    m = metrics()
    env.check(m.get("icegate_acl_rejections_total", acl="sip_in", method="INVITE") == 1,
              "acl_rejections{sip_in,INVITE} must count the blacklisted INVITE")
    env.check(m.get("icegate_acl_rejections_total", acl="phones", method="REGISTER") == 1,
              "acl_rejections{phones,REGISTER} must count the blacklisted REGISTER")
    env.check(m.get("icegate_invites_rejected_total", status="403", reason="acl") == 1,
              "invites_rejected{403,acl} must count the blacklisted INVITE")

    # ---- call 1: the phone hangs up; what it moved, and the API during it -----------------------
    before = metrics()
    phone, trunk, answer, outfile, call = start_call("call1")
    cid = call["id"]
    env.check(re.fullmatch(r"[A-Za-z0-9._-]{1,64}", cid), "call id %r" % cid)
    env.check(call["direction"] == "outbound" and call["from"] == "1001"
              and call["to"] == TRUNK_NUMBER, "call 1: direction/parties: %s" % call)
    a, b = call["a"], call["b"]
    env.check(a["kind"] == "phone" and b["kind"] == "trunk" and b.get("trunk") == "pbx",
              "call 1: leg kinds: %s" % call)
    env.check(a["state"] == "confirmed" and b["state"] == "confirmed",
              "call 1: both SIP legs confirmed while connected: %s / %s" % (a["state"], b["state"]))
    env.check(b["call_id"] and b["call_id"] != a["call_id"],
              "call 1: B has a Call-ID of its own: %s / %s" % (a["call_id"], b["call_id"]))
    pair = a.get("media", {}).get("ice", {}).get("selected_pair")
    env.check(pair and pair["remote"] == "%s:40000" % env.phone_ip
              and pair["local"] == "%s:%s" % (env.icegate_ip, answer["port"]),
              "call 1: the phone leg's selected pair must be %s:%s <-> ice_phone %s:40000: %s"
              % (env.icegate_ip, answer["port"], env.phone_ip, a.get("media")))
    env.check(a["media"]["packets_in"] > 0 and b["media"]["packets_in"] > 0,
              "call 1: packets in on both legs: %s" % call)
    detail = api("GET", "/api/v1/calls/" + cid)
    env.check(detail["id"] == cid and detail["a"]["call_id"] == a["call_id"],
              "GET /api/v1/calls/%s: %s" % (cid, detail))
    diag = api("GET", "/api/v1/calls/%s/diagnosis" % cid)
    env.check(diag.get("call") == cid, "GET /api/v1/calls/%s/diagnosis: %s" % (cid, diag))
    m = metrics()
    env.check(m.get("icegate_calls_active", direction="outbound") == 1, "calls_active{outbound} during")
    env.check(m.get("icegate_media_sessions_active") == 1, "media_sessions_active during the call")
    env.check(m.get("icegate_rtp_ports", state="used") >= 2, "rtp_ports{used} during the call")

    table = ctl("calls")
    rows = [line.split() for line in table.splitlines()]
    env.check(rows and rows[0][:3] == ["ID", "STATE", "DIRECTION"],
              "icegate ctl calls: a table with a header:\n" + table)
    row = [r for r in rows[1:] if r and r[0] == cid]
    env.check(row and row[0][1] == "connected" and row[0][2] == "outbound"
              and a["call_id"] in row[0] and b["call_id"] in row[0],
              "icegate ctl calls: a row for %s with both Call-IDs:\n%s" % (cid, table))
    try:
        as_json = json.loads(ctl("--json", "calls"))
    except ValueError as e:
        raise TestFailure("icegate ctl --json calls is not JSON: %s" % e)
    env.check([c["id"] for c in as_json["calls"]] == [cid], "ctl --json calls: %s" % as_json)
    try:
        one = json.loads(ctl("--json", "call", cid))
    except ValueError as e:
        raise TestFailure("icegate ctl --json call is not JSON: %s" % e)
    env.check(one["id"] == cid, "ctl --json call %s: %s" % (cid, one))

    env.send_go(env.phone_ip, 5060, answer["call_id"])  # the phone hangs up
    phone.expect_success()
    trunk.expect_success()
    env.check(invite_call_id(trunk) == b["call_id"],
              "B's Call-ID in the API (%s) must be the one the trunk got (%s)"
              % (b["call_id"], invite_call_id(trunk)))
    env.wait_log(r"media closed: A in")
    m = metrics_settled(lambda m: m.get("icegate_calls_active", direction="outbound") == 0
                        and m.get("icegate_media_sessions_active") == 0, "call 1 ended")
    env.check(api("GET", "/api/v1/calls")["calls"] == [], "no call listed after it ended")
    env.check(m.get("icegate_sip_requests_total", method="INVITE")
              >= before.get("icegate_sip_requests_total", method="INVITE") + 2,
              "INVITE count must grow by the challenged and the authenticated INVITE")
    env.check(m.get("icegate_calls_total", direction="outbound", status="200") == 1,
              "calls_total{outbound,200} after the call: %s"
              % m.get("icegate_calls_total", direction="outbound", status="200"))
    env.check(m.get("icegate_call_setup_seconds_count") == 1, "call_setup_seconds_count")
    env.check(0 < m.get("icegate_call_setup_seconds_sum") < 30, "call_setup_seconds_sum")
    for fam in ("icegate_call_setup_seconds", "icegate_ice_connected_seconds"):
        m.check_histogram(fam)
    for leg in ("a", "b"):
        for direction in ("in", "out"):
            env.check(m.get("icegate_relay_packets_total", leg=leg, direction=direction) >= 20,
                      "relay_packets_total{%s,%s} = %s, want the call's packets"
                      % (leg, direction, m.get("icegate_relay_packets_total", leg=leg, direction=direction)))
            env.check(m.get("icegate_relay_bytes_total", leg=leg, direction=direction) > 0,
                      "relay_bytes_total{%s,%s}" % (leg, direction))
    env.check(m.get("icegate_ice_checks_total", result="answered") > 0, "ice_checks{answered}")
    env.check(m.get("icegate_ice_connected_total") >= 1, "ice_connected_total")
    env.check(m.get("icegate_ice_connected_seconds_count") >= 1, "ice_connected_seconds_count")
    env.check(m.get("icegate_operator_hangups_total") == 0, "no operator hang-up yet")
    env.check(m.get("icegate_trunk_up", trunk="pbx") in (0, 1), "trunk_up{pbx}")

    # ---- call 2: bad input changes nothing, then the API hangs up -------------------------------
    phone, trunk, answer, outfile, call = start_call("call2")
    cid = call["id"]
    hang = "/api/v1/calls/%s/hangup" % cid
    for token in (None, "wrong-token", TOKEN + "x", TOKEN[:-1] + "X"):  # the last: same length
        for method, path in (("POST", hang), ("GET", "/metrics"), ("GET", "/api/v1/calls"),
                             ("POST", "/api/v1/drain"), ("POST", "/api/v1/reload")):
            status, headers, body = http(method, path, token)
            env.check(status == 401 and "Bearer" in headers.get("WWW-Authenticate", ""),
                      "%s %s with token %r: got %d, want 401 + WWW-Authenticate: %s"
                      % (method, path, token, status, body))
    env.check(phone.proc.poll() is None and trunk.proc.poll() is None,
              "a hang-up without the token must not end the call")
    env.check([c["id"] for c in api("GET", "/api/v1/calls")["calls"]] == [cid],
              "the call must still be listed after the refused hang-ups")
    env.check(api("GET", "/api/v1/health")["status"] == "ok", "a refused drain must not drain")
    env.check(metrics().get("icegate_operator_hangups_total") == 0, "refused hang-ups count nothing")
    env.check("hung up by the operator" not in env.log(), "no hang-up may have happened")

    for method, path in (("GET", "/api/v1/calls/bad%24id"), ("POST", "/api/v1/calls/bad%24id/hangup"),
                         ("GET", "/api/v1/calls/" + "x" * 65),
                         ("GET", "/api/v1/calls/%s%%3Bx/diagnosis" % cid)):
        body = api(method, path, want=400)
        env.check("malformed call id" in body.get("error", ""), "%s %s: %s" % (method, path, body))
    for method, path in (("GET", "/api/v1/calls/c999999"), ("POST", "/api/v1/calls/c999999/hangup"),
                         ("GET", "/api/v1/calls/c999999/diagnosis")):
        body = api(method, path, want=404)
        env.check("c999999" in body.get("error", ""), "%s %s: %s" % (method, path, body))
    ctl("hangup", "c999999", want=1)

    # A reload of a broken file: 422 with the errors; the running configuration stays.
    broken = good_config.replace(b'rtp-min="', b'rtp-min="x')
    env.check(broken != good_config, "could not break the configuration")
    with open(config, "wb") as f:
        f.write(broken)
    body = api("POST", "/api/v1/reload", want=422)
    env.check(body.get("reloaded") is False and body.get("errors")
              and any("rtp-min" in e and config in e for e in body["errors"]),
              "reload of a broken file: want the errors naming the file and rtp-min: %s" % body)
    env.wait_log(r"reload refused")
    with open(config, "wb") as f:
        f.write(good_config)
    env.check(api("GET", "/api/v1/health")["status"] == "ok", "the daemon must run on")
    env.check([c["id"] for c in api("GET", "/api/v1/calls")["calls"]] == [cid],
              "the call must survive the refused reload")
    body = api("POST", "/api/v1/reload", want=200)
    env.check(body.get("reloaded") is True, "reload of the good file: %s" % body)
    env.check(phone.proc.poll() is None and trunk.proc.poll() is None, "the call is still up")

    body = api("POST", hang)
    env.check(body == {"call": cid, "hung_up": True}, "POST %s: %s" % (hang, body))
    ended_by_icegate(phone, trunk, outfile, "hang-up through the API")
    env.wait_log(r"call %s: hung up by the operator" % re.escape(cid))
    env.wait_log(r"media closed: A in", count=2)
    api("POST", hang, want=404)  # it is gone
    m = metrics_settled(lambda m: m.get("icegate_calls_active", direction="outbound") == 0,
                        "call 2 ended")
    env.check(m.get("icegate_operator_hangups_total") == 1, "operator_hangups_total after the API hang-up")
    env.check(m.get("icegate_calls_total", direction="outbound", status="200") == 2,
              "calls_total{outbound,200}: the hung-up call was answered")

    # ---- call 3: `icegate ctl hangup`, with most of the RTP range held by another program ---------
    # Issue 13 item 6: ports another program holds are skipped, counted and named in the log.
    lo, hi = env.rtp_range
    squatters = []
    for port in range(lo, hi - 5):  # the top 6 ports stay free for the call
        sq = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sq.bind((env.icegate_ip, port))
            squatters.append(sq)
        except OSError:
            sq.close()  # in use by icegate itself: fine
    before = metrics().get("icegate_rtp_port_bind_failures_total")
    phone, trunk, answer, outfile, call = start_call("call3")
    env.check(int(answer["port"]) > hi - 6, "the call must get one of the free ports: %s" % answer)
    held = metrics().get("icegate_rtp_port_bind_failures_total") - before
    env.check(held > 0, "ports held by another program must be counted as bind failures")
    n, port = env.wait_log(r"(\d+) RTP port\(s\) could not be bound and are held out for a "
                           r"while: (\d+) \(Address already in use\)")[0]
    env.check(int(n) > 0 and lo <= int(port) < hi - 5,
              "the log must count and name the held ports: %s, %s" % (n, port))
    for sq in squatters:
        sq.close()
    out = ctl("hangup", call["id"])
    env.check(re.search(r"hung_up: true", out), "icegate ctl hangup prints the outcome:\n" + out)
    ended_by_icegate(phone, trunk, outfile, "icegate ctl hangup")
    env.wait_log(r"call %s: hung up by the operator" % re.escape(call["id"]))
    env.check(metrics().get("icegate_operator_hangups_total") == 2, "operator_hangups after ctl hangup")

    # ---- call 4: drain ------------------------------------------------------------------------------
    phone, trunk, answer, outfile, call = start_call("call4")
    body = api("POST", "/api/v1/drain", want=202)
    env.check(body.get("draining") is True and body.get("calls") == 1, "POST /api/v1/drain: %s" % body)
    env.check(api("GET", "/api/v1/health")["status"] == "draining", "health while draining")
    code = env.invite_final(TRUNK_NUMBER, env.ip(6), name="invite-while-draining")
    env.check(code == 503, "INVITE while draining: got %d, want 503" % code)
    with open(os.path.join(env.work, "invite-while-draining.messages"), errors="replace") as f:
        trace = f.read()
    m503 = re.search(r"SIP/2\.0 503 .*?(?:\r?\n\r?\n|\Z)", trace, re.S)
    env.check(m503 and re.search(r"^Retry-After: *\d+", m503.group(0), re.M | re.I),
              "the 503 while draining must carry Retry-After:\n%s" % (m503.group(0) if m503 else trace))
    m = metrics()
    env.check(m.get("icegate_invites_rejected_total", status="503", reason="draining") == 1,
              "invites_rejected{503,draining}")
    env.check(phone.proc.poll() is None and trunk.proc.poll() is None and env.alive(),
              "the running call goes on while draining")
    env.check([c["id"] for c in api("GET", "/api/v1/calls")["calls"]] == [call["id"]],
              "the running call is still listed while draining")

    # The phone hangs up: the last call ends, icegate exits 0 by itself. From here on icegate's
    # exit is expected, not a failure of the sipp waits.
    proc, env.icegate = env.icegate, None
    env.send_go(env.phone_ip, 5060, answer["call_id"])
    phone.expect_success()
    trunk.expect_success()
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise TestFailure("icegate did not exit within 20 s after the last call of the drain ended")
    env.check(rc == 0, "icegate exited %d after the drain, want 0" % rc)
    log = env.log()
    env.check(re.search(r"drained: no call left", log), "the log must say the drain is done")
    env.check(re.search(r"BYE from A", log), "the phone's BYE ended the last call")
