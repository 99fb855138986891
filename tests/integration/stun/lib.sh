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

# wait_for FILE PATTERN [SECONDS]: polls FILE for an extended regex, bounded.
wait_for() {
  local file=$1 pattern=$2 limit=${3:-20}
  local tries=$((limit * 10))
  for ((i = 0; i < tries; i++)); do
    grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out after ${limit}s waiting for /$pattern/ in $file"; tail -n 40 "$file" || true
  return 1
}

# wait_count FILE PATTERN N [SECONDS]: polls until PATTERN matches at least N lines, bounded.
wait_count() {
  local file=$1 pattern=$2 n=$3 limit=${4:-20}
  for ((i = 0; i < limit * 10; i++)); do
    [[ $(grep -Ec -- "$pattern" "$file" 2>/dev/null || true) -ge $n ]] && return 0
    sleep 0.1
  done
  echo "timed out after ${limit}s waiting for $n x /$pattern/ in $file"; tail -n 40 "$file" || true
  return 1
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
  # Verbose coturn logs every listener; the alternate address and port open last.
  wait_for "$work/$name.log" "UDP listener opened on: ?127.0.0.2:$((port + 1))" 15
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
