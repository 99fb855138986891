#!/usr/bin/env python3
"""SIP ACL (behaviour.md sections 6 and 9 pattern 4): a blacklisted source gets 403 Forbidden for
INVITE and REGISTER, before any challenge, and the log says `IP <ip> Rejected by acl "<name>"`;
a whitelisted neighbour passes the ACL (and is challenged instead).

ACL "sip_in": whitelist 127.0.0.0/8, blacklist 127.0.43.66/32 (longest prefix wins); it is the
sip-inbound policy, and "phones" (same entries) is the sip-register policy, so the two log lines
name different ACLs.
"""
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from harness import Env

env = Env("acl", net=43)
bad = env.ip(66)
with env:
    entries = [("whitelist", "127.0.0.0/8"), ("blacklist", "%s/32" % bad)]
    env.start_icegate(env.config(acls={"sip_in": entries, "phones": entries},
                                 policy={"sip-inbound": "sip_in", "sip-register": "phones"}))

    code = env.invite_final("0049301234", bad)
    env.check(code == 403, "INVITE from blacklisted %s: got %d, want 403" % (bad, code))
    env.wait_log(r'IP %s Rejected by acl "sip_in"' % re.escape(bad))

    first, final = env.register_final("1001", "1001secret", bad)
    env.check(first == 403 and final is None,
              "REGISTER from blacklisted %s: got %s/%s, want 403 and no challenge" % (bad, first, final))
    env.wait_log(r'IP %s Rejected by acl "phones"' % re.escape(bad))

    # The whitelisted phone address: the ACL lets it through to authentication.
    code = env.invite_final("0049301234", env.phone_ip)
    env.check(code == 407, "INVITE from whitelisted %s: got %d, want 407 (challenge)"
              % (env.phone_ip, code))
    first, final = env.register_final("1001", "1001secret", env.phone_ip)
    env.check((first, final) == (401, 200),
              "REGISTER from whitelisted %s: got %s/%s, want 401 then 200" % (env.phone_ip, first, final))
    log = env.log()
    env.check(not re.search(r"IP %s Rejected" % re.escape(env.phone_ip), log),
              "the whitelisted address must not be rejected")
    env.check(len(re.findall(r"Rejected by acl", log)) == 2, "exactly the two blocked requests")
