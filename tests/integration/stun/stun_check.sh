#!/usr/bin/env bash
# stun-check and nat-detect against a real coturn on 127.0.0.1 + 127.0.0.2 (RFC 5780).
# Usage: stun_check.sh ICEGATE_BIN
bin=$1
. "$(dirname "$0")/lib.sh"

port=$(free_port_pair)
start_coturn stun "$port" "stun-only"
dead=$((port + 70))  # nobody listens there (outside coturn's relay range)
icegate_config "$work/ok.xml" 5060 30000 "<stun enabled=\"true\">
    <server name=\"stun1\" host=\"127.0.0.1\" port=\"$port\"/>
    <server name=\"stun2\" host=\"localhost\" port=\"$port\" comment=\"FQDN, resolved at lookup time\"/>
  </stun>"
icegate_config "$work/down.xml" 5060 30000 "<stun enabled=\"true\">
    <server name=\"stun1\" host=\"127.0.0.1\" port=\"$port\"/>
    <server name=\"gone\" host=\"127.0.0.1\" port=\"$dead\"/>
  </stun>"

# Correct --expect: exit 0, both servers, RTT, agreement.
rc=0; "$bin" stun-check -c "$work/ok.xml" --expect 127.0.0.1 >"$work/check1.log" 2>&1 || rc=$?
cat "$work/check1.log"
[[ $rc -eq 0 ]] || fail "stun-check with the right --expect exited $rc"
grep -q "stun1 (127.0.0.1:$port): mapped address 127.0.0.1:[0-9]*, RTT [0-9.]* ms, matches --expect 127.0.0.1" "$work/check1.log" || fail "stun1 line"
grep -q "stun2 (localhost:$port = 127.0.0.1:$port): mapped address 127.0.0.1" "$work/check1.log" || fail "stun2 (FQDN) line"
grep -q "all 2 answering servers agree: public IP 127.0.0.1" "$work/check1.log" || fail "agreement line"

# Wrong --expect: exit 1 and says so.
rc=0; "$bin" stun-check -c "$work/ok.xml" --expect 127.0.0.3 >"$work/check2.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "stun-check with a wrong --expect exited $rc, want 1"
grep -q "DOES NOT MATCH --expect 127.0.0.3" "$work/check2.log" || fail "mismatch not reported"

# JSON.
"$bin" stun-check -c "$work/ok.xml" --server stun1 --json >"$work/check3.log"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['ok'] and d['servers'][0]['public_ip']=='127.0.0.1', d" "$work/check3.log" ||
  fail "stun-check --json"

# One server down: exit 1, the other still reported.
rc=0; "$bin" stun-check -c "$work/down.xml" --timeout 3 >"$work/check4.log" 2>&1 || rc=$?
cat "$work/check4.log"
[[ $rc -eq 1 ]] || fail "stun-check with an unreachable server exited $rc, want 1"
grep -q "gone (127.0.0.1:$dead): UNREACHABLE" "$work/check4.log" || fail "unreachable server not named"
grep -q "stun1 (127.0.0.1:$port): mapped address 127.0.0.1" "$work/check4.log" || fail "the good server"

# nat-detect on loopback: coturn supports RFC 5780 with two addresses; no NAT, no filter.
rc=0; "$bin" nat-detect -c "$work/ok.xml" --timeout 1.5 >"$work/nat.log" 2>&1 || rc=$?
cat "$work/nat.log"
[[ $rc -eq 0 ]] || fail "nat-detect exited $rc"
grep -q "RFC 5780 support    yes (OTHER-ADDRESS 127.0.0.2:$((port + 1)))" "$work/nat.log" || fail "RFC 5780 support not seen"
grep -q "RFC 3489 class      open internet" "$work/nat.log" || fail "loopback is the open internet"
grep -q "STUN is not needed" "$work/nat.log" || fail "recommendation"
"$bin" nat-detect -c "$work/ok.xml" --stun "127.0.0.1:$port" --json --timeout 1.5 >"$work/nat.json"
python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d['rfc5780'] and d['mapping']=='no-nat' and d['filtering']=='endpoint-independent' and d['rfc3489']=='open-internet', d
assert any(t['name'].startswith('filtering II') and t['from'].startswith('127.0.0.2:') for t in d['tests']), d['tests']
" "$work/nat.json" || fail "nat-detect --json"

echo "stun-check / nat-detect against coturn: OK"
