#!/usr/bin/env bash
# `icegate run` with STUN on: the public address is learned once at start from the media address,
# and again only on a reload that changes the STUN settings. Then the unreachable case: icegate
# starts anyway, warns, offers no public candidate, retries with back-off and picks the address
# up once coturn appears.
# Usage: discovery.sh ICEGATE_BIN
bin=$1
. "$(dirname "$0")/lib.sh"

sip=$(free_port_pair)
rtp=$(( (sip % 100) * 100 + 10000 ))  # below the coturn ports and the ephemeral range

# --- 1. coturn up: learned once at start, cached, re-asked only when STUN settings change.
port=$(free_port_pair)
start_coturn stun "$port" "stun-only"
stun="<stun enabled=\"true\">
    <server name=\"stun1\" host=\"127.0.0.1\" port=\"$port\"/>
    <server name=\"stun2\" host=\"localhost\" port=\"$port\"/>
  </stun>"
icegate_config "$work/icegate.xml" "$sip" "$rtp" "$stun"
"$bin" run -c "$work/icegate.xml" >"$work/icegate.log" 2>&1 &
pid=$!
pids+=($pid)
wait_for "$work/icegate.log" "icegate is up" 20
wait_for "$work/icegate.log" "public address 127.0.0.1 from STUN server stun1" 20
grep -q "\[stun\] STUN server stun1 (127.0.0.1:$port) says 127.0.0.1:[0-9]* (from the media address 127.0.0.1" "$work/icegate.log" ||
  fail "stun1's answer not logged"
grep -q "STUN server stun2 (localhost:$port) says 127.0.0.1" "$work/icegate.log" || fail "stun2 (FQDN) not asked"
grep -q "several public IPs" "$work/icegate.log" && fail "no conflict expected"

# A reload that does not touch STUN does not ask again.
sed -i 's|<logging level="info"/>|<logging level="debug"/>|' "$work/icegate.xml"
kill -HUP $pid
wait_for "$work/icegate.log" "configuration reloaded" 10
[[ $(grep -c "says 127.0.0.1" "$work/icegate.log") -eq 2 ]] || fail "asked again on a reload without STUN changes"

# A reload that changes STUN settings asks again.
sed -i "s|<server name=\"stun2\" host=\"localhost\" port=\"$port\"/>||" "$work/icegate.xml"
kill -HUP $pid
wait_for "$work/icegate.log" "STUN settings changed by the reload" 10
wait_count "$work/icegate.log" "public address 127.0.0.1 from STUN server stun1" 2 10
[[ $(grep -c "says 127.0.0.1" "$work/icegate.log") -eq 3 ]] || fail "not asked exactly once more"
kill -TERM $pid
wait $pid || fail "icegate exit code $?"

# --- 2. coturn absent at start.
port2=$(free_port_pair)
stun="<stun enabled=\"true\"><server name=\"stun1\" host=\"127.0.0.1\" port=\"$port2\"/></stun>"
icegate_config "$work/late.xml" "$sip" "$rtp" "$stun"
"$bin" run -c "$work/late.xml" >"$work/late.log" 2>&1 &
pid=$!
pids+=($pid)
wait_for "$work/late.log" "icegate is up" 20
wait_for "$work/late.log" "STUN server stun1 \(127.0.0.1:$port2\) unreachable: no public candidate is offered; retrying in 5 s" 10
grep -q "public address" "$work/late.log" && fail "a public address without a STUN server"
kill -0 $pid || fail "icegate died"
start_coturn late "$port2" "stun-only"
wait_for "$work/late.log" "public address 127.0.0.1 from STUN server stun1" 30
kill -TERM $pid
wait $pid || fail "icegate exit code $?"
echo "public address discovery: OK"
