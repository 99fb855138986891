#!/usr/bin/env bash
# The admin listener's checks (POST /api/v1/checks/...) against a real coturn: a running icegate
# runs stun-check, turn-check and nat-detect with its own configuration and answers their --json
# documents. icegate (SIP, media and the admin listener) on 127.0.66.1 (calls/README.md: net 66),
# coturn on 127.0.0.1 + 127.0.0.2 (RFC 5780) on free ports, like the other stun.coturn tests.
# Usage: admin_checks.sh ICEGATE_BIN
bin=$1
. "$(dirname "$0")/lib.sh"

port=$(free_port_pair)
start_coturn turn "$port" "lt-cred-mech" "realm=icegate.test" "user=alice:wonderland"
ip=127.0.66.1  # (after start_coturn: lib.sh's wait_coturn loops over a global $ip)
admin_port=8060

icegate_config "$work/c.xml" 5060 30000 "<stun enabled=\"true\">
    <server name=\"stun1\" host=\"127.0.0.1\" port=\"$port\"/>
  </stun>" "$ip" "<turn>
    <server name=\"lt\" host=\"127.0.0.1\" port=\"$port\" username=\"alice\" password=\"wonderland\"/>
  </turn>
  <admin address=\"$ip\" port=\"$admin_port\"/>"

"$bin" run -c "$work/c.xml" >"$work/icegate.log" 2>&1 &
icegate=$!
pids+=("$icegate")
wait_for "$work/icegate.log" "admin listener on http://$ip:$admin_port" 20 || fail "no admin listener"
wait_listening tcp "$ip" "$admin_port" 15 "$icegate" || fail "the admin port is not icegate's"

# post PATH NAME: POST (empty body) to the admin listener; NAME.status and NAME.json in $work.
post() {
  python3 - "$ip" "$admin_port" "$1" "$work/$2" <<'PY' || fail "POST $1"
import http.client, sys
ip, port, path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = http.client.HTTPConnection(ip, port, timeout=100)
c.request("POST", path, body=b"", headers={"Content-Length": "0"})
r = c.getresponse()
open(out + ".status", "w").write(str(r.status))
open(out + ".json", "wb").write(r.read())
PY
  echo "POST $1 -> $(cat "$work/$2.status"): $(head -c 600 "$work/$2.json")"
}
# check NAME STATUS PYTHON-ASSERTIONS: the answer's status and its JSON body (as d).
check() {
  local name=$1 status=$2 code=$3
  [[ $(cat "$work/$name.status") == "$status" ]] || fail "$name: HTTP $(cat "$work/$name.status"), want $status"
  python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
$code
" "$work/$name.json" || fail "$name: unexpected answer"
}

# stun-check, the right expected address (the media address: no NAT on loopback).
post "/api/v1/checks/stun-check?expect=$ip" stun-ok
check stun-ok 200 "
assert d['check'] == 'stun-check' and d['ok'] is True and d['exit_code'] == 0, d
r = d['results'][0]
assert r['ok'] and r['public_ip'] == '$ip' and r['expect'] == '$ip', r
s = r['servers'][0]
assert s['name'] == 'stun1' and s['answered'] and s['matches_expect'] is True, s
assert s['mapped'].startswith('$ip:'), s"

# stun-check, one server named, a wrong expected address: still 200, ok false, exit code 1.
post "/api/v1/checks/stun-check?server=stun1&expect=127.0.66.99" stun-wrong
check stun-wrong 200 "
assert d['ok'] is False and d['exit_code'] == 1, d
r = d['results'][0]
assert r['ok'] is False and r['expect'] == '127.0.66.99', r
assert [s['matches_expect'] for s in r['servers']] == [False], r"

# A malformed expected address never reaches the CLI.
post "/api/v1/checks/stun-check?expect=not-an-address" stun-bad
check stun-bad 400 "assert 'error' in d and 'results' not in d, d"

# turn-check of the configured server: an allocation works, a relayed address on coturn's relay.
post "/api/v1/checks/turn-check?server=lt" turn-ok
check turn-ok 200 "
assert d['check'] == 'turn-check' and d['ok'] is True and d['exit_code'] == 0, d
r = d['results'][0]
assert r['ok'] and r['name'] == 'lt' and r['credentials'] == 'long-term', r
assert r['relayed'] and r['relayed'].startswith('127.0.0.1:'), r
assert len(r['steps']) == 7 and all(s['ok'] for s in r['steps']), r['steps']"

# turn-check of a server that is not configured: the CLI fails (exit code 1, no document) ->
# 200 with ok false and the CLI's explanation, naming the known servers, in stderr; without a
# name at all the route refuses it itself (400).
post "/api/v1/checks/turn-check?server=nosuch" turn-nosuch
check turn-nosuch 200 "
assert d['ok'] is False and d['exit_code'] == 1 and d['results'] == [], d
assert 'no TURN server named \"nosuch\" (known: lt)' in d['stderr'], d"
post "/api/v1/checks/turn-check" turn-none
check turn-none 400 "assert 'server=NAME' in d['error'], d"

# nat-detect: the same verdict as the CLI's for the same configuration.
"$bin" nat-detect -c "$work/c.xml" --json >"$work/nat-cli.json" || fail "icegate nat-detect exited $?"
cat "$work/nat-cli.json"
post "/api/v1/checks/nat-detect" nat
check nat 200 "
cli = json.load(open('$work/nat-cli.json'))
assert d['check'] == 'nat-detect' and d['ok'] is True and d['exit_code'] == 0, d
assert len(d['results']) == 1, d
r = d['results'][0]
for k in ('mapping', 'filtering', 'rfc3489', 'nat', 'rfc5780', 'recommendation'):
    assert r[k] == cli[k], (k, r[k], cli[k])
assert r['mapping'] == 'no-nat' and r['rfc3489'] == 'open-internet', r
assert r['server']['name'] == 'stun1', r"

# The daemon kept serving meanwhile.
kill -0 "$icegate" || fail "icegate died"
echo "admin checks against coturn: OK"
