#!/usr/bin/env bash
# The NAT lab: three network namespaces made by this test,
#   lan (10.77.N.2)  --  nat (10.77.N.1 | 203.0.113.1, nftables masquerade)  --  wan (coturn on
#   203.0.113.10 and 203.0.113.11, RFC 5780)
# All addresses exist only inside these namespaces. nat-detect from lan must report an
# endpoint-independent mapping for plain masquerade and an address-and-port-dependent one for
# masquerade with fully-random ports, with address-and-port-dependent filtering (Linux conntrack);
# icegate started in lan must learn the nat namespace's outer address as its public address.
# Usage: natlab.sh ICEGATE_BIN
bin=$1
. "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]] || ! ip netns add "igprobe$$" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces here (needs root and CAP_SYS_ADMIN)"
  exit 77
fi
ip netns del "igprobe$$"
command -v nft >/dev/null || fail "nft (nftables) is not installed: run tools/deps test"

id=$$
lan="iglan$id" nat="ignat$id" wan="igwan$id"
sub=$(( id % 200 + 20 ))
cleanup_hooks+=("ip netns del $lan 2>/dev/null; ip netns del $nat 2>/dev/null; ip netns del $wan 2>/dev/null")
for n in $lan $nat $wan; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "l$id" netns "$lan" type veth peer name "nl$id" netns "$nat"
ip link add "w$id" netns "$wan" type veth peer name "nw$id" netns "$nat"
ip -n "$lan" addr add "10.77.$sub.2/24" dev "l$id"
ip -n "$lan" link set "l$id" up
ip -n "$lan" route add default via "10.77.$sub.1"
ip -n "$nat" addr add "10.77.$sub.1/24" dev "nl$id"
ip -n "$nat" addr add 203.0.113.1/24 dev "nw$id"
ip -n "$nat" link set "nl$id" up
ip -n "$nat" link set "nw$id" up
ip netns exec "$nat" sysctl -qw net.ipv4.ip_forward=1
ip -n "$wan" addr add 203.0.113.10/24 dev "w$id"
ip -n "$wan" addr add 203.0.113.11/24 dev "w$id"
ip -n "$wan" link set "w$id" up

masquerade() {  # masquerade [random,fully-random]: (re)writes the nat namespace's ruleset
  ip netns exec "$nat" nft -f - <<NFT
flush ruleset
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "nw$id" masquerade ${1:-}
  }
}
NFT
  # Known pitfall: earlier tests leave conntrack entries that open the filter; start clean.
  if command -v conntrack >/dev/null; then
    ip netns exec "$nat" conntrack -F >/dev/null 2>&1 || true
  fi
}

# coturn in wan, STUN only, two addresses.
cat >"$work/wan.conf" <<CONF
listening-port=3478
listening-ip=203.0.113.10
listening-ip=203.0.113.11
stun-only
no-cli
no-tls
no-dtls
log-file=stdout
simple-log
verbose
pidfile=$work/wan.pid
userdb=$work/wan.sqlite
CONF
ip netns exec "$wan" turnserver -c "$work/wan.conf" >"$work/wan.log" 2>&1 &
pids+=($!)
wait_coturn "$!" "$wan" 3478 203.0.113.10 203.0.113.11

stun="<stun enabled=\"true\"><server name=\"wan-stun\" host=\"203.0.113.10\" port=\"3478\"/></stun>"
icegate_config "$work/lan.xml" 5060 30000 "$stun" "10.77.$sub.2"

detect() {  # detect NAME: nat-detect --json from lan into $work/NAME.json
  ip netns exec "$lan" "$bin" nat-detect -c "$work/lan.xml" --timeout 1 --json >"$work/$1.json" 2>"$work/$1.err" ||
    { cat "$work/$1.err" "$work/$1.json"; fail "nat-detect ($1) failed"; }
  python3 -m json.tool "$work/$1.json" >"$work/$1.pretty"  # (no pipe into head: SIGPIPE + pipefail)
  grep -E '"(public_ip|mapping|filtering|hairpinning|rfc3489)"' "$work/$1.pretty"
}
check() {  # check NAME PYTHON-CONDITION
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$work/$1.json" || fail "$1: $2"
}

# 1. Plain masquerade: Linux keeps the source port, one mapping for every destination.
masquerade
detect plain
check plain "d['public_ip'] == '203.0.113.1' and d['rfc5780']"
check plain "d['mapping'] == 'endpoint-independent'"
check plain "d['filtering'] == 'address-and-port-dependent'"
check plain "d['rfc3489'] == 'port-restricted-cone'"
check plain "'pin-hole punching' in d['recommendation']"

# 2. masquerade random,fully-random: a new random port per destination.
masquerade "random,fully-random"
detect random
check random "d['public_ip'] == '203.0.113.1'"
check random "d['mapping'] == 'address-and-port-dependent'"
check random "d['filtering'] == 'address-and-port-dependent'"
check random "d['rfc3489'] == 'symmetric'"
check random "'will not work for media' in d['recommendation']"

# 2b. Binding lifetime (RFC 5780 4.6, bounded): make the nat namespace's conntrack forget idle
# UDP flows after 3 s; the estimate must bracket it: alive after 2 s, gone after 4 s.
masquerade
if ip netns exec "$nat" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3 \
                                   net.netfilter.nf_conntrack_udp_timeout_stream=3 2>/dev/null; then
  ip netns exec "$lan" "$bin" nat-detect -c "$work/lan.xml" --timeout 1 --lifetime --lifetime-max 8 \
    --json >"$work/lifetime.json" 2>"$work/lifetime.err" || fail "nat-detect --lifetime"
  check lifetime "d['lifetime']['at_least_s'] == 2 and d['lifetime']['at_most_s'] == 4"
  ip netns exec "$nat" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=30 \
                                  net.netfilter.nf_conntrack_udp_timeout_stream=120
else
  echo "note: conntrack UDP timeouts are not settable per namespace here: lifetime estimate not checked"
fi

# 3. icegate in lan learns the nat namespace's outer address.
masquerade
ip netns exec "$lan" "$bin" run -c "$work/lan.xml" >"$work/icegate.log" 2>&1 &
pid=$!
pids+=($pid)
wait_for "$work/icegate.log" "icegate is up" 20
wait_for "$work/icegate.log" "public address 203.0.113.1 from STUN server wan-stun \(203.0.113.10:3478\): srflx candidates are offered" 20
kill -TERM $pid
wait $pid || fail "icegate exit code $?"
echo "NAT lab: OK"
