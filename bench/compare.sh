#!/usr/bin/env bash
# Side-by-side benchmark: sandbox-ssh against this machine's OpenSSH sshd, both on loopback,
# measured in one run (the machine drifts too much between runs to compare across them).
#
#   bench/compare.sh [--quick]        (after ./mvnw -B package -DskipTests)
#
# Prints connect latency (`ssh host true`), exec download/upload MB/s, sftp get/put and scp
# MB/s of a 500 MB file, and port-forwarding (-L / -R) MB/s of 1 GB.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0; [ "${1:-}" = "--quick" ] && QUICK=1
RUNS_CONNECT=$(( QUICK ? 5 : 20 ))
RUNS_BULK=$(( QUICK ? 1 : 3 ))
BULK_BYTES=$(( QUICK ? 200000000 : 1000000000 ))
FILE_BYTES=$(( QUICK ? 100000000 : 500000000 ))

JAR=sshd-gateway/target/sshd-gateway.jar
[ -f "$JAR" ] || { echo "build first: ./mvnw -B package -DskipTests" >&2; exit 2; }
for tool in ssh scp sftp ssh-keygen /usr/sbin/sshd; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install openssh-client openssh-server)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/sshbench.XXXXXX)
chmod 755 "$WORK"  # the baseline account must reach its home inside
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ns() { date +%s%N; }

ssh-keygen -q -t ed25519 -N '' -f "$WORK/id" -C bench

# --- OpenSSH baseline: a private sshd on loopback, for a user with a clean home -------------
SSHD_PORT=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$WORK/sshd_host_key"
BASE_USER=$(id -un)
BASE_HOME="$WORK/home"
mkdir -p "$BASE_HOME/.ssh"
if [ "$(id -u)" = 0 ]; then
  # Root's login files on these machines are slow (pyenv); measure a clean account instead.
  BASE_USER=sshbench
  id "$BASE_USER" >/dev/null 2>&1 || useradd --system --shell /bin/bash --home-dir "$BASE_HOME" "$BASE_USER"
  usermod --home "$BASE_HOME" "$BASE_USER" >/dev/null 2>&1 || true
  # A new system account is locked ("!"), which sshd refuses even for keys; "*" only bars passwords.
  usermod -p '*' "$BASE_USER"
fi
cp "$WORK/id.pub" "$BASE_HOME/.ssh/authorized_keys"
chown -R "$BASE_USER" "$BASE_HOME" 2>/dev/null || true
chmod 700 "$BASE_HOME" "$BASE_HOME/.ssh"; chmod 600 "$BASE_HOME/.ssh/authorized_keys"
mkdir -p /run/sshd 2>/dev/null || true
cat > "$WORK/sshd_config" <<CFG
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $WORK/sshd_host_key
AuthorizedKeysFile $BASE_HOME/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $WORK/sshd.pid
Subsystem sftp internal-sftp
AllowTcpForwarding yes
CFG
/usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
PIDS+=($!)

# --- the gateway, on its embedded default, in a scratch data dir ---------------------------
GW_PORT=$(free_port)
G=(java -jar "$JAR")
"${G[@]}" owner add bench --key "$WORK/id.pub" --data-dir "$WORK/data" >/dev/null
"${G[@]}" sandbox create --owner bench --id bench --data-dir "$WORK/data" >/dev/null
"${G[@]}" serve --port "$GW_PORT" --data-dir "$WORK/data" --keys-dir "$WORK/keys" >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)

SSH_OPTS=(-F /dev/null -i "$WORK/id" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
base() { ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" "$BASE_USER@127.0.0.1" "$@"; }
gw() { ssh "${SSH_OPTS[@]}" -p "$GW_PORT" bench@127.0.0.1 "$@"; }

wait_up() { for _ in $(seq 1 100); do "$@" true 2>/dev/null && return 0; sleep 0.2; done; echo "server did not come up" >&2; cat "$WORK"/*.log >&2; exit 1; }
wait_up base
wait_up gw

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN {printf "%.0f", b / (ns / 1e9) / 1e6}'; }

connect_ms() { # $1 = base|gw
  for _ in $(seq "$RUNS_CONNECT"); do
    t0=$(now_ns); "$1" true; t1=$(now_ns); echo $(( (t1 - t0) / 1000000 ))
  done | median
}

download() { # $1 = base|gw
  for _ in $(seq "$RUNS_BULK"); do
    t0=$(now_ns); "$1" "head -c $BULK_BYTES /dev/zero" > /dev/null; t1=$(now_ns)
    mbps "$BULK_BYTES" $(( t1 - t0 ))
    echo
  done | median
}

upload() { # $1 = base|gw
  for _ in $(seq "$RUNS_BULK"); do
    t0=$(now_ns); head -c "$BULK_BYTES" /dev/zero | "$1" "cat > /dev/null"; t1=$(now_ns)
    mbps "$BULK_BYTES" $(( t1 - t0 ))
    echo
  done | median
}

row() { printf '%-34s %14s %14s\n' "$1" "$2" "$3"; }

echo "sandbox-ssh vs OpenSSH $(ssh -V 2>&1 | cut -d, -f1) on loopback; $(nproc) cores; $(date -u +%F)"
row "measure" "OpenSSH sshd" "sandbox-ssh"
row "connect + true (ms, median of $RUNS_CONNECT)" "$(connect_ms base)" "$(connect_ms gw)"
row "exec download $((BULK_BYTES / 1000000)) MB (MB/s)" "$(download base)" "$(download gw)"
row "exec upload $((BULK_BYTES / 1000000)) MB (MB/s)" "$(upload base)" "$(upload gw)"

# File transfers need the gateway's sftp subsystem; skipped rows say why.
head -c "$FILE_BYTES" /dev/urandom > "$WORK/file.bin"
SFTP_BASE=(-P "$SSHD_PORT" "$BASE_USER@127.0.0.1"); SFTP_GW=(-P "$GW_PORT" bench@127.0.0.1)
timed_mbps() { t0=$(now_ns); "$@" >/dev/null 2>&1 || { echo "failed"; return; }; t1=$(now_ns); mbps "$FILE_BYTES" $(( t1 - t0 )); }
sftp_get() { sftp "${SSH_OPTS[@]}" -q -b <(echo "get file.bin $WORK/got.bin") "$@"; }
sftp_put() { sftp "${SSH_OPTS[@]}" -q -b <(echo "put $WORK/file.bin file.bin") "$@"; }
scp_put() { scp "${SSH_OPTS[@]}" -q -P "$1" "$WORK/file.bin" "$2:file.bin"; }
row "sftp put $((FILE_BYTES / 1000000)) MB (MB/s)" "$(timed_mbps sftp_put "${SFTP_BASE[@]}")" "$(timed_mbps sftp_put "${SFTP_GW[@]}")"
row "sftp get $((FILE_BYTES / 1000000)) MB (MB/s)" "$(timed_mbps sftp_get "${SFTP_BASE[@]}")" "$(timed_mbps sftp_get "${SFTP_GW[@]}")"
row "scp put $((FILE_BYTES / 1000000)) MB (MB/s)" "$(timed_mbps scp_put "$SSHD_PORT" "$BASE_USER@127.0.0.1")" "$(timed_mbps scp_put "$GW_PORT" bench@127.0.0.1)"

# Port forwarding: a server on the target's loopback (the host for sshd, the sandbox for the
# gateway) sends FWD_BYTES through -L; with -R a client on the target reads them from a sender
# here. Each side reports its own elapsed time.
FWD_BYTES=$BULK_BYTES
SEND_PY='import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); c,_=s.accept()
z=bytes(1<<16); n=int(sys.argv[2])
while n > 0: c.sendall(z[:min(n, len(z))]); n -= len(z)
c.close()'
RECV_PY='import socket,sys,time
for _ in range(100):
    try: c=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); break
    except OSError: time.sleep(0.1)
t=time.time(); n=0
while True:
    b=c.recv(1<<20)
    if not b: break
    n+=len(b)
dt=time.time()-t; print("%.0f" % (n/dt/1e6) if n==int(sys.argv[2]) else "short")'
forward_l() { # $1 = base|gw
  local rport=$((20000 + RANDOM % 20000)) lport; lport=$(free_port)
  "$1" -L "$lport:127.0.0.1:$rport" "python3 -c '$SEND_PY' $rport $FWD_BYTES" &
  local sshpid=$!
  python3 -c "$RECV_PY" "$lport" "$FWD_BYTES"
  wait $sshpid 2>/dev/null || true
}
forward_r() { # $1 = base|gw
  local rport=$((20000 + RANDOM % 20000)) lport; lport=$(free_port)
  python3 -c "$SEND_PY" "$lport" "$FWD_BYTES" &
  local senderpid=$!
  for _ in $(seq 1 50); do ss -ltn | grep -q "127.0.0.1:$lport " && break; sleep 0.1; done
  "$1" -R "$rport:127.0.0.1:$lport" "python3 -c '$RECV_PY' $rport $FWD_BYTES"
  kill $senderpid 2>/dev/null || true
}
row "ssh -L $((FWD_BYTES / 1000000)) MB (MB/s)" "$(forward_l base)" "$(forward_l gw)"
row "ssh -R $((FWD_BYTES / 1000000)) MB (MB/s)" "$(forward_r base)" "$(forward_r gw)"
