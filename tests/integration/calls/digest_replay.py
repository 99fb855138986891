#!/usr/bin/env python3
"""Digest credentials cannot be replayed (issue 13 item 1, docs/security.md).

A phone (sipp, .3) registers as 1002 and places a call; their Authorization and
Proxy-Authorization headers, taken from sipp's own message trace, are sent again:
- REGISTER from another address (.5) with a new Call-ID: 401 stale=true, not 200;
- REGISTER from the phone's own address with the same nonce-count: 401 stale=true (replayed);
- INVITE from .5 to the same number: 407 stale=true; from .5 to another number: 400 (the digest
  uri is not the Request-URI); from .3 again: 407 stale=true (an INVITE's nonce is good once);
- after the nonce's lifetime (1 s here) the captured REGISTER from .3: 401 stale=true;
- an honest phone refreshing with an expired nonce gets 401 stale=true and registers at once
  with the new one.
None of these reaches the registrar or the router; the metrics count them by reason.
"""
import re
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("digest_replay", net=70)
phone, attacker = env.phone_ip, env.ip(5)


def with_security(path, **attrs):
    tree = ET.parse(path)
    ET.SubElement(tree.getroot().find("sip"), "security",
                  {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path


def captured(sipp, header):
    """The last `header` line sipp sent (its -trace_msg file)."""
    lines = re.findall(r"^(%s: Digest .*?)\r?$" % header, sipp.text(), re.M)
    env.check(lines, "no %s header in %s's trace" % (header, sipp.name))
    return lines[-1].strip()


def replay(scenario, name, ip, auth, to_user="1002"):
    out = "%s/%s.txt" % (env.work, name)
    env.sipp_run(name, scenario, ip, 5060, remote="%s:5060" % env.icegate_ip,
                 extra=["-s", to_user, "-key", "auth", auth, "-key", "outfile", out]).expect_success()
    v = env.wait_file(out)
    return int(v["final"]), v.get("stale") == "true"


with env:
    env.start_icegate(with_security(env.config(), nonce_ttl="1s"))

    # The phone registers; the credentials it sent are captured.
    env.check(env.register_final("1002", "1002secret", phone, name="reg") == (401, 200),
              "the phone must register (401, then 200)")
    reg_auth = captured(env.last, "Authorization")
    registered = len(re.findall(r"REGISTER 1002 from ", env.log()))

    code, stale = replay("replay_register.xml", "reg-other-source", attacker, reg_auth)
    env.check((code, stale) == (401, True),
              "captured REGISTER credentials from another address: got %s stale=%s, want 401 "
              "stale=true" % (code, stale))
    env.wait_log(r"REGISTER for 1002 from %s:5060\S*: nonce not issued by us to this address"
                 % re.escape(attacker))
    code, stale = replay("replay_register.xml", "reg-same-nc", phone, reg_auth)
    env.check((code, stale) == (401, True),
              "the same credentials (same nonce-count) again from the phone: got %s stale=%s" % (code, stale))
    env.wait_log(r"REGISTER for 1002 from %s:5060\S*: nonce replayed" % re.escape(phone))

    # A call: auth passes, 1001 is not registered (480); the Proxy-Authorization is captured.
    # -auth_uri: the digest uri is the Request-URI, as real phones send it (sipp's own default
    # is the server's sip:host:port).
    out = "%s/call.txt" % env.work
    call = env.sipp_run("call", "phone_invite_final.xml", phone, 5060,
                        remote="%s:5060" % env.icegate_ip,
                        extra=["-s", "1001", "-au", "1002", "-ap", "1002secret", "-auth_uri",
                               "1001@%s:5060" % env.icegate_ip, "-key", "from_user", "1002",
                               "-key", "outfile", out] + env.phone_keys())
    call.expect_success()
    code = int(env.wait_file(out)["final"])
    env.check(code == 480, "the phone's authenticated INVITE must reach routing (480), got %d" % code)
    inv_auth = captured(call, "Proxy-Authorization")

    code, stale = replay("replay_invite.xml", "inv-other-source", attacker, inv_auth, "1001")
    env.check((code, stale) == (407, True),
              "captured INVITE credentials from another address: got %s stale=%s, want 407 "
              "stale=true" % (code, stale))
    code, _ = replay("replay_invite.xml", "inv-other-uri", attacker, inv_auth, "0049301234")
    env.check(code == 400, "captured INVITE credentials toward another number: got %s, want 400" % code)
    env.wait_log(r"digest uri is not the Request-URI")
    code, stale = replay("replay_invite.xml", "inv-same-source", phone, inv_auth, "1001")
    env.check((code, stale) == (407, True),
              "the INVITE's credentials again from the phone: got %s stale=%s, want 407 stale=true "
              "(one INVITE per nonce)" % (code, stale))

    # Later: the nonce has expired (its lifetime is 1 s; the time must pass, nothing to poll).
    time.sleep(2.2)
    code, stale = replay("replay_register.xml", "reg-later", phone, reg_auth)
    env.check((code, stale) == (401, True), "the captured REGISTER later: got %s stale=%s" % (code, stale))
    env.wait_log(r"REGISTER for 1002 from %s:5060\S*: stale nonce" % re.escape(phone))

    # An honest phone's refresh with an expired nonce: stale=true, then registered at once.
    out = "%s/stale.txt" % env.work
    env.sipp_run("stale", "register_stale.xml", phone, 5060, remote="%s:5060" % env.icegate_ip,
                 extra=["-s", "1002", "-au", "1002", "-ap", "1002secret",
                        "-key", "outfile", out]).expect_success()
    v = env.wait_file(out)
    env.check(v.get("first") == "200" and v.get("stale") == "true" and v.get("final") == "200",
              "expired nonce: want 200, then 401 stale=true, then 200; got %s" % v)

    # Only the honest registrations reached the registrar (reg + the stale scenario's two).
    env.check(len(re.findall(r"REGISTER 1002 from ", env.log())) == registered + 2,
              "a replayed REGISTER reached the registrar")
    env.check(not re.search(r"REGISTER 1002 from %s" % re.escape(attacker), env.log()),
              "the other address must never be registered")
    with urllib.request.urlopen("http://%s:8060/metrics" % env.icegate_ip, timeout=5) as r:
        metrics = r.read().decode()
    for reason, least in (("invalid", 2), ("replayed", 2), ("expired", 2)):
        m = re.search(r'^icegate_nonces_refused_total\{reason="%s"\} (\d+)' % reason, metrics, re.M)
        env.check(m and int(m.group(1)) >= least,
                  "icegate_nonces_refused_total{reason=%s} must be >= %d: %s" % (reason, least, m and m.group(0)))
