# Shared helpers for the STUN/TURN integration tests (sourced). Everything stays on 127.0.0.0/8
# or inside network namespaces the test creates; every process started here is stopped by PID.
set -euo pipefail

work=$(mktemp -d "${TMPDIR:-/tmp}/icegate-stun.XXXXXX")
pids=()
cleanup_hooks=()
cleanup() {
  local rc=$?
  for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ $rc -ne 0 ]]; then
    for f in "$work"/*.log; do [[ -f $f ]] && { echo "----- $f"; tail -n 60 "$f"; }; done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# free_port_pair: a UDP port P with P+1 also free on 127.0.0.1 and 127.0.0.2 (coturn's RFC 5780
# alternate port is the listening port + 1).
free_port_pair() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29000) & ~1
    ok = True
    socks = []
    for ip in ("127.0.0.1", "127.0.0.2"):
        for port in (p, p + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((ip, port)); socks.append(s)
            except OSError:
                ok = False
    for s in socks: s.close()
    if ok:
        print(p); break
PY
}

# The readiness helpers are the call tests' (calls/harness.py), run as a command: one
# implementation for the Python and the shell drivers.
harness="$(cd "$(dirname "${BASH_SOURCE[0]}")/../calls" && pwd)/harness.py"

# wait_for FILE PATTERN [SECONDS]: polls FILE for an extended regex until a deadline.
wait_for() {
  local file=$1 pattern=$2 limit=${3:-20}
  local deadline=$((SECONDS + limit))
  until grep -Eq -- "$pattern" "$file" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${limit}s waiting for /$pattern/ in $file"; tail -n 40 "$file" || true
      return 1
    fi
    sleep 0.1  # the poll period inside the deadline, not a wait for the condition
  done
}

# wait_count FILE PATTERN N [SECONDS]: polls until PATTERN matches at least N lines, until a
# deadline.
wait_count() {
  local file=$1 pattern=$2 n=$3 limit=${4:-20}
  local deadline=$((SECONDS + limit))
  until [[ $(grep -Ec -- "$pattern" "$file" 2>/dev/null || true) -ge $n ]]; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${limit}s waiting for $n x /$pattern/ in $file"; tail -n 40 "$file" || true
      return 1
    fi
    sleep 0.1
  done
}

# wait_listening PROTO IP PORT [SECONDS] [PID] [NETNS]: until a PROTO (udp|tcp) socket takes what
# is sent to IP:PORT (TCP: in LISTEN) -- with PID, a socket of that process, read in its own
# network namespace (which must be NETNS when given) -- or fails at the deadline.
wait_listening() {
  local proto=$1 ip=$2 port=$3 limit=${4:-15} pid=${5:-} ns=${6:-}
  python3 -B "$harness" listening "$proto" "$ip" "$port" --timeout "$limit" \
    ${pid:+--pid "$pid"} ${ns:+--netns "$ns"}
}

# wait_stun IP PORT [SECONDS] [NETNS]: until IP:PORT answers a STUN Binding request (sent from
# inside NETNS when given), or fails at the deadline.
wait_stun() {
  local ip=$1 port=$2 limit=${3:-15} ns=${4:-}
  ${ns:+ip netns exec "$ns"} python3 -B "$harness" stun "$ip" "$port" --timeout "$limit"
}

# wait_coturn PID NETNS PORT IP...: a coturn (PID, in NETNS or "" for this namespace) is ready
# once each of its UDP listeners -- every IP on PORT and, with two IPs (RFC 5780), on the
# alternate PORT+1 too -- is its socket and answers a STUN Binding request.
wait_coturn() {
  local pid=$1 ns=$2 port=$3; shift 3
  local ports=("$port")
  (($# > 1)) && ports+=($((port + 1)))
  for ip in "$@"; do
    for p in "${ports[@]}"; do
      wait_listening udp "$ip" "$p" 15 "$pid" "$ns" || fail "coturn (pid $pid) not listening on udp $ip:$p"
      wait_stun "$ip" "$p" 15 "$ns" || fail "coturn (pid $pid) does not answer STUN on $ip:$p"
    done
  done
}

# start_coturn NAME PORT EXTRA-CONFIG-LINES...: coturn in the foreground (backgrounded here) on
# 127.0.0.1 and 127.0.0.2 with its own config, log and pid file in $work.
start_coturn() {
  local name=$1 port=$2; shift 2
  local conf="$work/$name.conf"
  {
    echo "listening-port=$port"
    echo "listening-ip=127.0.0.1"
    echo "listening-ip=127.0.0.2"
    echo "relay-ip=127.0.0.1"
    echo "min-port=$((port + 2))"
    echo "max-port=$((port + 60))"
    echo "allow-loopback-peers"
    echo "no-cli"
    echo "no-tls"
    echo "no-dtls"
    echo "no-multicast-peers"
    echo "log-file=stdout"
    echo "simple-log"
    echo "verbose"
    echo "pidfile=$work/$name.pid"
    echo "userdb=$work/$name.sqlite"
    printf '%s\n' "$@"
  } >"$conf"
  turnserver -c "$conf" >"$work/$name.log" 2>&1 &
  pids+=($!)
  # Ready before anything is sent to it: every listener is bound and answers STUN.
  wait_coturn "$!" "" "$port" 127.0.0.1 127.0.0.2
}

# icegate_config FILE SIP_PORT RTP_MIN STUN-BLOCK [MEDIA_ADDRESS]: a minimal configuration.
icegate_config() {
  local file=$1 sip=$2 rtp=$3 stun=$4 media=${5:-127.0.0.1} turn=${6:-}
  cat >"$file" <<XML
<icegate>
  <logging level="info"/>
  <sip><listener name="udp" transport="udp" address="$media" port="$sip"/></sip>
  <media address="$media" rtp-min="$rtp" rtp-max="$((rtp + 99))"/>
  $stun
  $turn
  <acls><acl name="local"><whitelist cidr="127.0.0.0/8"/></acl></acls>
  <acl-policy sip-inbound="local"/>
  <users><user name="1001" password="x"/></users>
</icegate>
XML
}
