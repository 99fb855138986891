#!/usr/bin/env bash
# turn-check against a real coturn: long-term credentials (right and wrong), and TURN REST API
# time-limited credentials from a shared secret (right and wrong secret).
# Usage: turn_check.sh ICEGATE_BIN
bin=$1
. "$(dirname "$0")/lib.sh"

p1=$(free_port_pair)
start_coturn lt "$p1" "lt-cred-mech" "realm=icegate.test" "user=alice:wonderland"
p2=$(free_port_pair)
[[ $p2 != "$p1" ]] || p2=$(free_port_pair)
start_coturn rest "$p2" "use-auth-secret" "static-auth-secret=north-pole-secret" "realm=icegate.test"

turn="<turn>
    <server name=\"lt\" host=\"127.0.0.1\" port=\"$p1\" username=\"alice\" password=\"wonderland\"/>
    <server name=\"lt-wrong\" host=\"127.0.0.1\" port=\"$p1\" username=\"alice\" password=\"looking-glass\"/>
    <server name=\"rest\" host=\"127.0.0.1\" port=\"$p2\" shared-secret=\"north-pole-secret\" credential-ttl=\"10m\"/>
    <server name=\"rest-wrong\" host=\"127.0.0.1\" port=\"$p2\" shared-secret=\"south-pole-secret\"/>
  </turn>
  <groups><group name=\"mobile\" turn=\"lt rest\"/></groups>"
icegate_config "$work/c.xml" 5060 30000 "<stun enabled=\"false\"><server name=\"s\" host=\"127.0.0.1\" port=\"$p1\"/></stun>" 127.0.0.1 "$turn"
sed -i 's|<user name="1001" password="x"/>|<user name="1001" password="x" group="mobile"/>|' "$work/c.xml"

expect_ok() {
  local name=$1 rc=0
  "$bin" turn-check -c "$work/c.xml" "$name" >"$work/$name.out" 2>&1 || rc=$?
  cat "$work/$name.out"
  [[ $rc -eq 0 ]] || fail "turn-check $name exited $rc"
  for step in "peer address" "allocate (unauthenticated)" "allocate (authenticated)" "create permission" \
              "send indication -> peer" "data indication <- peer" "refresh lifetime 0 (release)"; do
    grep -qF "[ ok ] $step (" "$work/$name.out" || fail "turn-check $name: step '$step' not ok"
  done
  grep -q "401 Unauthorized with realm \"icegate.test\"" "$work/$name.out" || fail "the 401 round"
  grep -q "the peer received [0-9]* bytes from 127.0.0.1:[0-9]* (the relayed address)" "$work/$name.out" || fail "relayed data"
}
expect_fail() {
  local name=$1 rc=0
  "$bin" turn-check -c "$work/c.xml" "$name" >"$work/$name.out" 2>&1 || rc=$?
  cat "$work/$name.out"
  [[ $rc -eq 1 ]] || fail "turn-check $name exited $rc, want 1"
  grep -q "\[FAIL\] allocate (authenticated).*401.*wrong username or password" "$work/$name.out" ||
    fail "turn-check $name: the wrong credentials are not named"
}

expect_ok lt
expect_fail lt-wrong
expect_ok rest
grep -q "time-limited (shared secret) credentials, username [0-9]*:icegate-turn-check" "$work/rest.out" || fail "REST username"
expect_fail rest-wrong

# JSON
"$bin" turn-check -c "$work/c.xml" lt --json >"$work/lt.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['ok'] and len(d['steps'])==7 and d['relayed'], d" "$work/lt.json" ||
  fail "turn-check --json"

# ice-servers hands out credentials coturn accepts: use them with turn-check's engine by
# writing them into a long-term server entry.
"$bin" ice-servers -c "$work/c.xml" 1001 --json >"$work/ice.json"
read -r user cred < <(python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
t=[s for s in d['iceServers'] if s['urls'][0].startswith('turn:127.0.0.1:$p2')][0]
print(t['username'], t['credential'])" "$work/ice.json")
[[ $user == *:1001 ]] || fail "ice-servers username $user"
sed -i "s|<server name=\"lt-wrong\"|<server name=\"handed-out\" host=\"127.0.0.1\" port=\"$p2\" username=\"$user\" password=\"$cred\"/>\n    <server name=\"lt-wrong\"|" "$work/c.xml"
expect_ok handed-out
echo "turn-check against coturn: OK"
