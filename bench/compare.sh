#!/usr/bin/env bash
# Side-by-side benchmark: sandbox-ssh against this machine's OpenSSH sshd, both on loopback,
# measured in one run (the machine drifts too much between runs to compare across them).
#
#   bench/compare.sh [--quick] [--verbose] [--only GROUPS] [--json FILE]   (after ./mvnw -B package -DskipTests)
#
# Prints one row per measure with the sshd value, the gateway value and their ratio
# (gateway / sshd; whether higher is better depends on the unit):
#   - connect + `true`, warm (the sandbox's agent already runs) and cold, three times: the first
#     login to a new sandbox (it takes the spare agent the gateway started ahead,
#     local.spare-agents), the first to a sandbox that already holds files, as after an idle stop
#     (it takes the spare too, its home mounted as the spare's, local.idmapped-homes), and the
#     first to one that holds 50,000 files (the same, whatever the number); sshd has nothing to
#     start, so its column is a plain connect. A comment line gives how long the spares took to
#     start: what each of these logins would wait without one;
#   - keystroke echo through `ssh -tt` (median and p90), and what each keystroke costs the server's
#     whole process tree in context switches (thread hand-offs) and CPU;
#   - exec download/upload, sftp put/get, scp put and -L/-R port forwarding, each once with the
#     client's default cipher (stock OpenSSH asks for chacha20-poly1305 first) and once with
#     aes128-gcm forced, as MB/s and as server CPU seconds per GB moved;
#   - memory when idle after the load: the main server process, the sandbox agent (RSS, and its
#     private memory: what one more sandbox costs), the whole server process tree (the gateway's
#     includes its spare agent), and what one more idle PTY session adds (measured on a second
#     round of sessions, once the first round has warmed the server up).
# --json FILE also writes every row (name, unit, better, sshd, gateway, ratio) to FILE, for
# bench/chart.py. --quick uses smaller transfers and fewer runs (a few minutes). --only takes a
# comma-separated subset of the groups connect, echo, bulk, memory and cold, for working on one
# figure; the README's table comes from a run of them all. --verbose also prints each transfer
# run's figures to stderr (the rows give their medians). CIPHERS="aes128-gcm" in the environment
# limits the transfers to that one of the two cipher passes ("default aes128-gcm").
#
# Server CPU is counted over each server's whole process tree, processes that exit during the
# transfer included (the per-connection sshd, the command): each server starts in a cpuacct
# cgroup of its own (run as root). Where that is not possible it falls back to summing
# /proc/PID/stat over the live tree, which loses what no live process reaped (most of sshd's
# per-connection CPU); the output says which.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0; VERBOSE=0; JSON=""; ONLY=connect,echo,bulk,memory,cold
usage() { echo "usage: bench/compare.sh [--quick] [--verbose] [--only connect,echo,bulk,memory,cold] [--json FILE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --verbose) VERBOSE=1 ;;
    --json) JSON=${2:?--json needs a file}; shift ;;
    --only) ONLY=${2:?--only needs groups}; shift ;;
    *) usage ;;
  esac
  shift
done
for g in ${ONLY//,/ }; do
  case "$g" in connect|echo|bulk|memory|cold) ;; *) echo "unknown group: $g" >&2; usage ;; esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
[ -z "$JSON" ] || JSON=$(realpath -m "$JSON")
RUNS_CONNECT=$(( QUICK ? 5 : 20 ))
RUNS_COLD=$(( QUICK ? 3 : 5 ))
RUNS_BULK=$(( QUICK ? 1 : 3 ))
KEYSTROKES=$(( QUICK ? 100 : 1000 ))
IDLE_SESSIONS=$(( QUICK ? 10 : 20 )); IDLE_SETTLE=20
BULK_BYTES=$(( QUICK ? 200000000 : 1000000000 ))
FILE_BYTES=$(( QUICK ? 100000000 : 500000000 ))

JAR=sshd-gateway/target/sshd-gateway.jar
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"; JCMD="${JAVA_HOME:+$JAVA_HOME/bin/}jcmd"
[ -f "$JAR" ] || { echo "build first: ./mvnw -B package -DskipTests" >&2; exit 2; }
for tool in ssh scp sftp ssh-keygen /usr/sbin/sshd "$JAVA" "$JCMD"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install openssh-client openssh-server)" >&2; exit 2; }
done
# Debian's python3 when there is one: a pyenv shim on PATH costs a noticeable start-up per call.
PY=$(command -v /usr/bin/python3 || command -v python3)

WORK=$(mktemp -d /tmp/sshbench.XXXXXX)
chmod 755 "$WORK"  # the baseline account must reach its home inside
PIDS=()
CGROUPS=()
IDLE_PIDS=()
cleanup() {
  for p in "${IDLE_PIDS[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # A cgroup can be removed only once its processes are gone: agents exit with the gateway,
  # but a command a session left behind (a failed transfer's) outlives its sshd.
  for cg in "${CGROUPS[@]}"; do
    for _ in $(seq 1 25); do
      find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill 2>/dev/null || true
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$cg" ] || break
      sleep 0.2
    done
  done
  # A failed row's cause is in the servers' logs (the agents log into the gateway's).
  if grep -qs failed "$WORK/rows.tsv"; then
    local keep; keep=$(mktemp -d /tmp/sshbench-logs.XXXXXX)
    cp "$WORK"/*.log "$keep"/ 2>/dev/null || true
    echo "some rows failed; server logs kept in $keep" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ns() { date +%s%N; }

# Process-tree, PTY and JSON helpers that bash does badly; stdlib only.
cat > "$WORK/helper.py" <<'PY'
import json, os, pty, select, signal, statistics, sys, time, tty

def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()  # [0] is field 3 (state)

def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                kids.setdefault(int(stat_fields(d)[1]), []).append(int(d))
            except OSError:
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out

def status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split()[1]
    except OSError:
        pass
    return "0"

def cpu_ns(root):
    # utime+stime of the live tree, plus cutime+cstime: what each live process reaped from
    # children that ended (the per-connection sshd, the command). Lost: what no live one reaped.
    total = 0
    for p in tree(root):
        try:
            total += sum(int(x) for x in stat_fields(p)[11:15])
        except OSError:
            pass
    return total * 10**9 // os.sysconf("SC_CLK_TCK")

def thread_switches(root):
    # Context switches, voluntary and not, of each thread of the live tree: each one is a thread
    # put to sleep or woken, the hand-offs a keystroke pays for in latency. Unlike latency, the
    # count hardly moves with the machine's noise.
    counts = {}
    for p in tree(root):
        try:
            threads = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in threads:
            counts[t] = sum(int(status(f"{p}/task/{t}", key))
                            for key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
    return counts

class Switches:
    # Per thread, so that a thread which ends while keystrokes are measured (an idle pool thread,
    # say) keeps the count it had at the last sample instead of taking its whole past off the sum;
    # a thread that starts meanwhile counts from zero.
    def __init__(self, root):
        self.root, self.first = root, thread_switches(root)
        self.last = dict(self.first)

    def sample(self):
        self.last.update(thread_switches(self.root))

    def since_start(self):
        self.sample()
        return sum(n - self.first.get(t, 0) for t, n in self.last.items())

def rss_kb(pid):
    return int(status(pid, "VmRSS"))

def rollup_kb(pid, *fields):
    # The sum of the named fields of the process's smaps_rollup, in KB; 0 once it is gone.
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(fields):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total

def pss_kb(pid):
    # Proportional set size: a page shared by k processes counts 1/k in each, so a tree's sum
    # is what it really holds (RSS would count libc and libcrypto once per process).
    return rollup_kb(pid, "Pss:")

def private_kb(pid):
    # What the process holds alone (USS): what one more process of its kind costs. Its RSS also
    # counts the pages it shares with the others (an agent: the JVM's code and the AOT cache's
    # read-only part, shared with every other agent and the gateway's JVM).
    return rollup_kb(pid, "Private_Clean:", "Private_Dirty:")

def agent(root, uid):
    # The sandbox's agent JVM: the gateway's descendant running AgentMain as the sandbox's uid
    # (the bwrap processes above it carry the same command line, but are not java).
    found = []
    for p in tree(root):
        try:
            with open(f"/proc/{p}/comm") as f:
                if f.read().strip() != "java":
                    continue
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if b"dev.sandboxssh.agent.AgentMain" not in f.read():
                    continue
        except OSError:
            continue
        if status(p, "Uid") == uid:
            return p
        found.append(p)
    return found[0] if len(found) == 1 else 0

def read_until(fd, want, deadline):
    buf = b""
    while want not in buf:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            raise TimeoutError(want)
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            raise EOFError(buf.decode(errors="replace")[-200:])
        buf += chunk
    return buf

def server_cpu_ns(pid, cg):
    # What the shell's cpu_ns reads: the server's cgroup's cpuacct.usage (ns, every task ever in
    # it) when it has one, else the /proc tree sum (10 ms ticks).
    if cg:
        with open(cg + "/cpuacct.usage") as f:
            return int(f.read())
    return cpu_ns(pid)

def echo(n, servers, commands):
    # One `ssh -tt` per server, typing into a local PTY as a person would; the remote side is a
    # raw, non-echoing PTY under `cat`, so the byte comes back only after it crossed the server
    # to the process and back: what an editor or readline shell costs per keystroke. Keystrokes
    # alternate between the servers so both see the same machine.
    sessions = []
    for argv in commands:
        pid, fd = pty.fork()
        if pid == 0:
            tty.setraw(0)  # ssh sets raw too; this way no byte is ever echoed locally
            os.execvp(argv[0], argv)
        sessions.append((pid, fd, []))
    try:
        for _, fd, _ in sessions:
            read_until(fd, b"READY", time.monotonic() + 60)
        # The first 100 warm up: until the JIT has compiled the keystroke path, the gateway runs
        # it interpreted, and that is not what a typing user sees.
        # Each server's whole tree (its own threads, the session's processes, cat) over the
        # measured keystrokes: what one keystroke costs it in thread hand-offs and CPU. Whatever
        # else a server does meanwhile (timers, a gateway's memory poll) counts too.
        before = []
        for i in range(n + 100):
            if i == 100:
                before = [(Switches(pid), server_cpu_ns(pid, cg)) for pid, cg in servers]
            elif i > 100 and i % 50 == 0:
                for counter, _ in before:
                    counter.sample()
            for _, fd, times in sessions:
                c = bytes([97 + i % 26])
                t0 = time.perf_counter()
                os.write(fd, c)
                read_until(fd, c, time.monotonic() + 10)
                if i >= 100:
                    times.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.01)
        out = []
        for (_, _, times), (pid, cg), (s0, c0) in zip(sessions, servers, before):
            out += ["%.2f" % statistics.median(times),
                    "%.2f" % statistics.quantiles(times, n=10, method="inclusive")[8],
                    "%.1f" % (s0.since_start() / n),
                    "%.0f" % ((server_cpu_ns(pid, cg) - c0) / n / 1000)]
        print(" ".join(out))
    except (TimeoutError, EOFError) as e:
        print("echo failed:", e, file=sys.stderr)
        print(" ".join(["failed"] * 4 * len(sessions)))
    finally:
        for pid, _, _ in sessions:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass

def number(v):
    try:
        return float(v)
    except ValueError:
        return None

def to_json(tsv, out, meta):
    rows = []
    with open(tsv) as f:
        for line in f:
            name, unit, better, a, b = line.rstrip("\n").split("\t")
            row = {"name": name, "unit": unit, "better": better, "sshd": number(a), "gateway": number(b)}
            ok = row["sshd"] is not None and row["sshd"] > 0 and row["gateway"] is not None and row["gateway"] >= 0
            row["ratio"] = round(row["gateway"] / row["sshd"], 3) if ok else None
            for k, v in (("sshd", a), ("gateway", b)):
                if row[k] is None:
                    row[k + "_note"] = v
            rows.append(row)
    doc = {k: int(v) if v.isdigit() else v for k, v in (kv.split("=", 1) for kv in meta)}
    doc["quick"] = bool(doc.get("quick"))
    doc["rows"] = rows
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "cpu-ns":
    print(cpu_ns(int(args[0])))
elif cmd == "rss-kb":
    print(rss_kb(int(args[0])))
elif cmd == "private-kb":
    print(private_kb(int(args[0])))
elif cmd == "tree-pss-kb":
    print(sum(pss_kb(p) for p in tree(int(args[0]))))
elif cmd == "agent":
    print(agent(int(args[0]), args[1]))
elif cmd == "echo":
    cmds, cur = [], []
    for a in args[2:]:
        if a == "::":
            cmds.append(cur); cur = []
        else:
            cur.append(a)
    # args[1]: each server's "pid:cgroup" (the cgroup may be empty), comma-separated.
    servers = [(int(pid), cg) for pid, cg in (s.split(":", 1) for s in args[1].split(","))]
    echo(int(args[0]), servers, cmds + [cur])
elif cmd == "json":
    to_json(args[0], args[1], args[2:])
PY
helper() { "$PY" "$WORK/helper.py" "$@"; }

# --- CPU accounting: one cpuacct cgroup per server, which its children inherit -------------
# cpuacct.usage counts every task that ever ran in the cgroup or below it, so the gateway's own
# sub-cgroups for its sandboxes (made under its cgroup where cpu and cpuacct share a mount)
# stay counted.
CPUACCT=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuacct(,|$)/ {print $2; exit}' /proc/mounts)
CG_BASE=""; CG_GW=""
if [ -n "$CPUACCT" ] && mkdir "$CPUACCT/sshbench-$$-sshd" "$CPUACCT/sshbench-$$-gw" 2>/dev/null; then
  CGROUPS=("$CPUACCT/sshbench-$$-sshd" "$CPUACCT/sshbench-$$-gw")
  if sh -c 'echo $$ > "$0/cgroup.procs"' "${CGROUPS[0]}" 2>/dev/null; then
    CG_BASE=${CGROUPS[0]}; CG_GW=${CGROUPS[1]}
  fi
fi
if [ -n "$CG_BASE" ]; then
  CPU_HOW="cgroup v1 cpuacct (whole process trees, exited processes included)"
else
  # Measured on OpenSSH 9.2: the listener's cutime gets 5-15 % of what its per-connection
  # processes used, so the sshd column reads far too low.
  CPU_HOW="/proc tree sums (no cpuacct cgroup here): they miss most of sshd's per-connection CPU, so CPU ratios run high"
fi
# Starts "$@" in cgroup $1 (none: as is), before it can fork anything there.
in_cgroup='[ -z "$0" ] || echo $$ > "$0/cgroup.procs"; exec "$@"'

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
sh -c "$in_cgroup" "$CG_BASE" /usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
SSHD_PID=$!
PIDS+=("$SSHD_PID")

# --- the gateway, on its embedded default, in a scratch data dir ---------------------------
GW_PORT=$(free_port)
G=("$JAVA" -jar "$JAR")
"${G[@]}" owner add bencher --key "$WORK/id.pub" --data-dir "$WORK/data" >/dev/null
"${G[@]}" sandbox create --owner bencher --id bench --data-dir "$WORK/data" >/dev/null
sh -c "$in_cgroup" "$CG_GW" "${G[@]}" serve --port "$GW_PORT" --data-dir "$WORK/data" --keys-dir "$WORK/keys" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")

SSH_OPTS=(-F /dev/null -i "$WORK/id" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
CIPHER=()  # the client's default; "-c aes128-gcm@openssh.com" for the forced rows
base() { ssh "${SSH_OPTS[@]}" "${CIPHER[@]}" -p "$SSHD_PORT" "$BASE_USER@127.0.0.1" "$@"; }
gw() { ssh "${SSH_OPTS[@]}" "${CIPHER[@]}" -p "$GW_PORT" bench@127.0.0.1 "$@"; }
port() { if [ "$1" = base ]; then echo "$SSHD_PORT"; else echo "$GW_PORT"; fi; }
login() { if [ "$1" = base ]; then echo "$BASE_USER@127.0.0.1"; else echo bench@127.0.0.1; fi; }

wait_up() { for _ in $(seq 1 100); do "$@" true 2>/dev/null && return 0; sleep 0.2; done; echo "server did not come up" >&2; cat "$WORK"/*.log >&2; exit 1; }
wait_up base
# The gateway makes its agent start-up cache in the background at its first start (JDK 25);
# wait for it so that its CPU does not land in the first rows, and so that the bench sandbox's
# agent, like every later one, starts from it.
for _ in $(seq 1 600); do grep -q "agent start-up cache" "$WORK/gateway.log" && break; sleep 0.2; done
STARTUP_CACHE=$(grep -o "agent start-up cache.*" "$WORK/gateway.log" | head -1 | cut -c1-120)
# Then the spare agent starts (local.spare-agents, 1 by default as root); wait for it too. The n-th
# spare is ready once the gateway logged its n-th start, or gave up on spares.
spare_ready() {
  for _ in $(seq 1 300); do
    [ "$(grep -c "agent started: sandbox=\.spare-" "$WORK/gateway.log" || true)" -ge "$1" ] && return 0
    grep -q "spare agent did not start" "$WORK/gateway.log" && return 0
    sleep 0.1
  done
}
spare_ready 1
# The bench sandbox is new: its first login takes that spare, and the gateway starts the next.
wait_up gw
spare_ready 2
# The sandbox's home on this host (for checking uploads without another login): its directory
# under the data dir, owned by the sandbox's own uid.
GW_HOME="$WORK/data/sandboxes/bench"
[ -d "$GW_HOME" ] || { echo "no sandbox directory at $GW_HOME" >&2; exit 1; }
home_of() { if [ "$1" = base ]; then echo "$BASE_HOME"; else echo "$GW_HOME"; fi; }

median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "failed"; else print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN {printf "%.0f", b / (ns / 1e9) / 1e6}'; }

# Rows go to the table and, as tab-separated name/unit/better/sshd/gateway, to the JSON.
ROWS="$WORK/rows.tsv"; : > "$ROWS"
row() { # name unit better(higher|lower) sshd gateway
  local ratio
  ratio=$(awk -v a="$4" -v b="$5" 'BEGIN {if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0) printf "%.2f", b / a; else print "-"}')
  printf '%-58s %12s %12s %8s\n' "$1 ($2)" "$4" "$5" "$ratio"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$ROWS"
}

cpu_ns() { # $1 = base|gw: CPU ns its whole process tree has used so far
  if [ "$1" = base ]; then
    if [ -n "$CG_BASE" ]; then cat "$CG_BASE/cpuacct.usage"; else helper cpu-ns "$SSHD_PID"; fi
  else
    if [ -n "$CG_GW" ]; then cat "$CG_GW/cpuacct.usage"; else helper cpu-ns "$GW_PID"; fi
  fi
}

negotiated() { # $1 = base|gw: the cipher the client's defaults end up with
  ssh -o LogLevel=DEBUG1 "${SSH_OPTS[@]}" -p "$(port "$1")" "$(login "$1")" true 2>&1 \
    | sed -n 's/.*kex: server->client cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1/p' | head -1
}

echo "sandbox-ssh vs OpenSSH $(ssh -V 2>&1 | cut -d, -f1) on loopback; $(nproc) cores; $(date -u +%F)"
CIPHER_BASE=$(negotiated base); CIPHER_GW=$(negotiated gw)
echo "# default cipher negotiated: sshd $CIPHER_BASE, gateway $CIPHER_GW"
echo "# server CPU: $CPU_HOW"
echo "# gateway: ${STARTUP_CACHE:-no agent start-up cache line in its log}"
printf '%-58s %12s %12s %8s\n' "measure" "OpenSSH sshd" "sandbox-ssh" "gw/sshd"

# --- connects, interleaved: the machine's drift lands on both servers alike -----------------
connect_ms() { local t0 t1; t0=$(now_ns); "$1" true || return 1; t1=$(now_ns); echo $(( (t1 - t0) / 1000000 )); }
if want connect; then
  : > "$WORK/c.base"; : > "$WORK/c.gw"
  for _ in $(seq "$RUNS_CONNECT"); do
    connect_ms base >> "$WORK/c.base" || true
    connect_ms gw >> "$WORK/c.gw" || true
  done
  row "connect + true, warm, median of $RUNS_CONNECT" ms lower "$(median < "$WORK/c.base")" "$(median < "$WORK/c.gw")"
fi

# --- bulk transfers --------------------------------------------------------------------------
# Each transfer function moves its bytes through server $1 and succeeds only if all of them
# arrived; one that times itself (the forwards, from the first byte on) leaves MB/s in
# $WORK/rate, the others are timed here from the login on. CPU is the server's, from before the
# login to shortly after the client is done (the server's teardown belongs to the transfer).
head -c "$FILE_BYTES" /dev/urandom > "$WORK/file.bin"
chmod 644 "$WORK/file.bin"
FWD_BYTES=$BULK_BYTES
digits() { tr -cd 0-9; }
exec_download() { [ "$("$1" "head -c $BULK_BYTES /dev/zero" | wc -c | digits)" = "$BULK_BYTES" ]; }
exec_upload() { [ "$(head -c "$BULK_BYTES" /dev/zero | "$1" "wc -c" | digits)" = "$BULK_BYTES" ]; }
sftp_put() {
  local dst; dst="$(home_of "$1")/file.bin"; rm -f "$dst"
  sftp "${SSH_OPTS[@]}" "${CIPHER[@]}" -q -b <(echo "put $WORK/file.bin file.bin") -P "$(port "$1")" "$(login "$1")" >/dev/null 2>&1 \
    && cmp -s "$WORK/file.bin" "$dst"
}
sftp_get() {
  rm -f "$WORK/got.bin"
  sftp "${SSH_OPTS[@]}" "${CIPHER[@]}" -q -b <(echo "get file.bin $WORK/got.bin") -P "$(port "$1")" "$(login "$1")" >/dev/null 2>&1 \
    && cmp -s "$WORK/file.bin" "$WORK/got.bin"
}
scp_put() {
  local dst; dst="$(home_of "$1")/file.bin"; rm -f "$dst"
  scp "${SSH_OPTS[@]}" "${CIPHER[@]}" -q -P "$(port "$1")" "$WORK/file.bin" "$(login "$1"):file.bin" >/dev/null 2>&1 \
    && cmp -s "$WORK/file.bin" "$dst"
}

# Port forwarding: a server on the target's loopback (the host for sshd, the sandbox for the
# gateway) sends FWD_BYTES through -L; with -R a client on the target reads them from a sender
# here. The receiving side reports MB/s from its first byte on, or "short". A connection that
# ends before any byte is the forward's channel opening before the sender listened: it retries.
SEND_PY='import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(120); c,_=s.accept()
z=bytes(1<<16); n=int(sys.argv[2])
while n > 0: c.sendall(z[:min(n, len(z))]); n -= len(z)
c.close()'
RECV_PY='import socket,sys,time
for _ in range(300):
    try: c=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); b=c.recv(1<<20)
    except OSError: b=b""
    if b: break
    time.sleep(0.1)
t=time.time(); n=0
while b:
    n+=len(b); b=c.recv(1<<20)
dt=time.time()-t; print("%.0f" % (n/dt/1e6) if n==int(sys.argv[2]) else "short")'
forward_l() { # $1 = base|gw
  local rport=$((20000 + RANDOM % 20000)) lport; lport=$(free_port)
  "$1" -L "$lport:127.0.0.1:$rport" "python3 -c '$SEND_PY' $rport $FWD_BYTES" &
  local sshpid=$!
  "$PY" -c "$RECV_PY" "$lport" "$FWD_BYTES" > "$WORK/rate"
  wait $sshpid 2>/dev/null || true
  grep -qx '[0-9]*' "$WORK/rate"
}
forward_r() { # $1 = base|gw
  local rport=$((20000 + RANDOM % 20000)) lport; lport=$(free_port)
  "$PY" -c "$SEND_PY" "$lport" "$FWD_BYTES" 2>/dev/null &
  local senderpid=$!
  for _ in $(seq 1 50); do ss -ltn | grep -q "127.0.0.1:$lport " && break; sleep 0.1; done
  "$1" -R "$rport:127.0.0.1:$lport" "python3 -c '$RECV_PY' $rport $FWD_BYTES" > "$WORK/rate" || true
  kill $senderpid 2>/dev/null || true
  grep -qx '[0-9]*' "$WORK/rate"
}

transfer_once() { # $1 = base|gw, $2 = bytes, $3 = function: prints "MB/s cpu-s/GB" or "failed"
  local c0 c1 t0 t1 rate
  rm -f "$WORK/rate"
  c0=$(cpu_ns "$1"); t0=$(now_ns)
  if ! "$3" "$1"; then echo failed; return; fi
  t1=$(now_ns); sleep 0.2; c1=$(cpu_ns "$1")
  if [ -s "$WORK/rate" ]; then rate=$(cat "$WORK/rate"); else rate=$(mbps "$2" $(( t1 - t0 ))); fi
  echo "$rate $(awk -v ns=$(( c1 - c0 )) -v b="$2" 'BEGIN {printf "%.2f", ns / 1e9 / (b / 1e9)}')"
}

# Column $2 of the runs on server $1; any failed run fails the row, since a median over the runs
# that worked would hide it.
med() { if grep -q failed "$WORK/r.$1"; then echo failed; else awk -v c="$2" '{print $c}' "$WORK/r.$1" | median; fi; }

bulk() { # label bytes function: MB/s and CPU rows, runs interleaved, medians
  local label=$1 bytes=$2 fn=$3 r
  : > "$WORK/r.base"; : > "$WORK/r.gw"
  for _ in $(seq "$RUNS_BULK"); do
    transfer_once base "$bytes" "$fn" >> "$WORK/r.base"
    transfer_once gw "$bytes" "$fn" >> "$WORK/r.gw"
  done
  [ "$VERBOSE" = 0 ] || paste "$WORK/r.base" "$WORK/r.gw" | sed 's/^/#   runs (MB\/s, CPU s\/GB), sshd then gateway: /' >&2
  row "$label" MB/s higher "$(med base 1)" "$(med gw 1)"
  row "$label" "server CPU s/GB" lower "$(med base 2)" "$(med gw 2)"
}

want bulk || CIPHERS=""
for cipher in ${CIPHERS-default aes128-gcm}; do
  if [ "$cipher" = default ]; then CIPHER=(); name="default cipher"; else CIPHER=(-c aes128-gcm@openssh.com); name=$cipher; fi
  # One unmeasured pass of every transfer on both servers first: the gateway's JIT compiles its
  # packet and cipher paths during its first gigabyte or so (a cold first run moved half the
  # bytes per second at three times the CPU), and the rows are about a gateway that has been
  # serving for a while, as the echo rows below are.
  for fn in exec_download exec_upload sftp_put sftp_get scp_put forward_l forward_r; do
    transfer_once base "$BULK_BYTES" "$fn" >/dev/null
    transfer_once gw "$BULK_BYTES" "$fn" >/dev/null
  done
  bulk "exec download $((BULK_BYTES / 1000000)) MB, $name" "$BULK_BYTES" exec_download
  bulk "exec upload $((BULK_BYTES / 1000000)) MB, $name" "$BULK_BYTES" exec_upload
  bulk "sftp put $((FILE_BYTES / 1000000)) MB, $name" "$FILE_BYTES" sftp_put
  bulk "sftp get $((FILE_BYTES / 1000000)) MB, $name" "$FILE_BYTES" sftp_get
  bulk "scp put $((FILE_BYTES / 1000000)) MB, $name" "$FILE_BYTES" scp_put
  bulk "ssh -L $((FWD_BYTES / 1000000)) MB, $name" "$FWD_BYTES" forward_l
  bulk "ssh -R $((FWD_BYTES / 1000000)) MB, $name" "$FWD_BYTES" forward_r
done
CIPHER=()
rm -f "$WORK/got.bin" "$BASE_HOME/file.bin" "$GW_HOME/file.bin"

# --- keystroke echo ------------------------------------------------------------------------
# After the transfers: the gateway's JIT has then compiled its packet path, as in a gateway that
# has been serving for a while (sshd has nothing to warm up). On a gateway that has served
# nothing yet, the first few thousand keystrokes run partly interpreted and echo slower.
ECHO_CMD='stty raw -echo; echo READY; exec cat'
if want echo; then
  read -r e_bm e_bp e_bs e_bc e_gm e_gp e_gs e_gc < <(helper echo "$KEYSTROKES" "$SSHD_PID:$CG_BASE,$GW_PID:$CG_GW" \
    ssh "${SSH_OPTS[@]}" -e none -tt -p "$SSHD_PORT" "$BASE_USER@127.0.0.1" "$ECHO_CMD" :: \
    ssh "${SSH_OPTS[@]}" -e none -tt -p "$GW_PORT" bench@127.0.0.1 "$ECHO_CMD") || true
  row "keystroke echo through ssh -tt, median of $KEYSTROKES" ms lower "${e_bm:-failed}" "${e_gm:-failed}"
  row "keystroke echo through ssh -tt, p90 of $KEYSTROKES" ms lower "${e_bp:-failed}" "${e_gp:-failed}"
  row "keystroke echo: context switches per keystroke, server process tree" count lower "${e_bs:-failed}" "${e_gs:-failed}"
  row "keystroke echo: CPU per keystroke, server process tree" us lower "${e_bc:-failed}" "${e_gc:-failed}"
fi

# --- memory, idle after the load ------------------------------------------------------------
# One process is its RSS; a process tree is its PSS sum, since RSS would count the shared
# libraries once per process (sshd's per-connection processes share most of theirs).
# Idle means a minute without sessions: the gateway's G1 collects after 30 s without a GC and
# then gives back the heap the transfers grew (the agent's serial GC shrinks at each collection).
if want memory; then
sleep 60
mb() { awk -v kb="$1" 'BEGIN {printf "%.0f", kb / 1024}'; }
AGENT_PID=$(helper agent "$GW_PID" "$(stat -c %u "$GW_HOME")")
row "main server process RSS, idle after load" MB lower "$(mb "$(helper rss-kb "$SSHD_PID")")" "$(mb "$(helper rss-kb "$GW_PID")")"
row "sandbox agent RSS, idle after load" MB lower "n/a" \
  "$([ "$AGENT_PID" != 0 ] && mb "$(helper rss-kb "$AGENT_PID")" || echo "not found")"
row "sandbox agent private memory (USS), idle after load" MB lower "n/a" \
  "$([ "$AGENT_PID" != 0 ] && mb "$(helper private-kb "$AGENT_PID")" || echo "not found")"
row "whole server process tree PSS, idle after load" MB lower \
  "$(mb "$(helper tree-pss-kb "$SSHD_PID")")" "$(mb "$(helper tree-pss-kb "$GW_PID")")"

# Idle PTY sessions: login shells that wait on a FIFO no one writes; what they add to the server
# (the tree: per-connection sshd processes, or the gateway, agent and sandbox shells; the shells
# are in both) and to its main process.
mkfifo "$WORK/idle.fifo"; exec 7<>"$WORK/idle.fifo"
# For the gateway also its live heap, which noise does not move (RSS moves with where the
# collector happens to put new objects); reading it runs a full collection, so the RSS figures
# of both sides are read right after one.
live_heap() { if [ "$1" = gw ]; then "$JCMD" "$2" GC.class_histogram | awk '$1 == "Total" {print $3}'; else echo 0; fi; }
open_idle() { # $1 = base|gw: opens IDLE_SESSIONS sessions into IDLE_PIDS; true once all are up
  local i
  IDLE_PIDS=()
  # One at a time: both servers drop some of many unauthenticated connections at once
  # (MaxStartups, pre-auth.max-startups), and a dropped client prints its error too.
  for i in $(seq "$IDLE_SESSIONS"); do
    : > "$WORK/idle.$1.$i"
    ssh "${SSH_OPTS[@]}" -tt -p "$(port "$1")" "$(login "$1")" < "$WORK/idle.fifo" > "$WORK/idle.$1.$i" 2>&1 &
    IDLE_PIDS+=($!)
    # Up once its shell printed something (a prompt) while its client still runs.
    for _ in $(seq 1 300); do [ -s "$WORK/idle.$1.$i" ] && break; sleep 0.1; done
    sleep 0.2
    kill -0 "$!" 2>/dev/null || return 1
  done
}
close_idle() {
  kill "${IDLE_PIDS[@]}" 2>/dev/null || true; wait "${IDLE_PIDS[@]}" 2>/dev/null || true; IDLE_PIDS=()
  sleep 2  # the servers tear the sessions down
}
idle_cost() { # $1 = base|gw, $2 = root pid: "tree-KB main-KB heap-KB" per session
  local tree0 main0 heap0 tree1 main1 heap1
  # A first round of as many sessions, settled and closed, and only then the measured one: the
  # first sessions a server opens also pay for what it does once (the JIT compiling the login
  # and PTY paths, classes loaded, malloc arenas grown), which no later session costs again.
  open_idle "$1" || true; sleep "$IDLE_SETTLE"; close_idle
  heap0=$(live_heap "$1" "$2"); tree0=$(helper tree-pss-kb "$2"); main0=$(helper rss-kb "$2")
  if ! open_idle "$1"; then echo "failed failed failed"
  else
    # Idle means settled: the gateway reads a quiet stream on a thread of its own for 5 s
    # (ProcessBridge.IDLE_PARK) and ends a thread 10 s after its last work, so a session's
    # start-up state is gone after 15 s. sshd's figure is the same at any wait.
    sleep "$IDLE_SETTLE"
    heap1=$(live_heap "$1" "$2"); tree1=$(helper tree-pss-kb "$2"); main1=$(helper rss-kb "$2")
    echo "$(( (tree1 - tree0) / IDLE_SESSIONS )) $(( (main1 - main0) / IDLE_SESSIONS )) $(( (heap1 - heap0) / 1024 / IDLE_SESSIONS ))"
  fi
  close_idle
}
read -r i_bt i_bm _ < <(idle_cost base "$SSHD_PID") || true
read -r i_gt i_gm i_gh < <(idle_cost gw "$GW_PID") || true
exec 7>&-
row "idle PTY session, whole server tree PSS, $IDLE_SESSIONS open" KB/session lower "${i_bt:-failed}" "${i_gt:-failed}"
row "idle PTY session, main server process RSS, $IDLE_SESSIONS open" KB/session lower "${i_bm:-failed}" "${i_gm:-failed}"
row "idle PTY session, gateway live heap, $IDLE_SESSIONS open" KB/session lower "n/a" "${i_gh:-failed}"
fi

# --- cold first connect: sandboxes whose agent is not running --------------------------------
# Last, so that the agents it leaves running do not weigh on the other rows. sshd starts
# nothing per user, so its column is a plain connect, taken alternately with the cold ones.
# new$i: a sandbox just created, whose first login takes the spare agent. The next one waits for
# the gateway's next spare, as a platform creating a sandbox every few seconds would find it.
# used$i: a sandbox that already holds files, owned by a uid of the sandboxes' range, as one whose
# agent stopped when idle: it takes the next spare, its home mounted as the spare's (idmapped).
# big$i: the same with 50,000 files, which would take seconds to give to the spare's uid one by
# one (and without idmapped mounts starts its own agent).
want cold || RUNS_COLD=0
for i in $(seq "$RUNS_COLD"); do
  for kind in new used big; do
    "${G[@]}" sandbox create --owner bencher --id "$kind$i" --data-dir "$WORK/data" >/dev/null
  done
  mkdir -p "$WORK/data/sandboxes/used$i/.cache" "$WORK/data/sandboxes/big$i"
  echo kept > "$WORK/data/sandboxes/used$i/notes"
  echo kept > "$WORK/data/sandboxes/used$i/.cache/state"
  chown -R "$((300500 + i)):$((300500 + i))" "$WORK/data/sandboxes/used$i" 2>/dev/null || true
  (cd "$WORK/data/sandboxes/big$i" && seq 50000 | xargs touch)
  chown -R "$((300600 + i)):$((300600 + i))" "$WORK/data/sandboxes/big$i" 2>/dev/null || true
done
cold_ms() { local t0 t1; t0=$(now_ns); ssh "${SSH_OPTS[@]}" -p "$GW_PORT" "$1@127.0.0.1" true || return 1; t1=$(now_ns); echo $(( (t1 - t0) / 1000000 )); }
: > "$WORK/c.base"; : > "$WORK/c.new"; : > "$WORK/c.used"; : > "$WORK/c.big"
for i in $(seq "$RUNS_COLD"); do
  # Spare 1 went to the bench sandbox: new$i takes spare 3i-1, used$i spare 3i, and big$i spare
  # 3i+1; each login waits for its spare, so that none starts alongside another's login.
  n=$((3 * i - 1))
  for kind in new used big; do
    spare_ready "$n"
    n=$((n + 1))
    connect_ms base >> "$WORK/c.base" || true
    cold_ms "$kind$i" >> "$WORK/c.$kind" || echo failed >> "$WORK/c.$kind"
  done
done
cold_of() { if grep -q failed "$1"; then echo failed; else median < "$1"; fi; }
SPARES_TAKEN=$(grep -cE "agent started: sandbox=new[0-9]+ .*a spare agent" "$WORK/gateway.log" || true)
USED_TAKEN=$(grep -cE "agent started: sandbox=used[0-9]+ .*a spare agent" "$WORK/gateway.log" || true)
BIG_TAKEN=$(grep -cE "agent started: sandbox=big[0-9]+ .*a spare agent" "$WORK/gateway.log" || true)
MAPPED=$(grep -cE "agent started: sandbox=(used|big)[0-9]+ .*home mounted idmapped" "$WORK/gateway.log" || true)
# A spare's own start, in the background: what a login without one would wait for.
SPARE_START=$(grep -oE "agent started: sandbox=\.spare-[0-9a-f]+ pid=[0-9]+ in [0-9]+ ms" "$WORK/gateway.log" | awk '{print $(NF-1)}' | median)
if [ "$RUNS_COLD" != 0 ]; then
  row "connect + true, new sandbox (spare agent), median of $RUNS_COLD" ms lower "$(median < "$WORK/c.base")" "$(cold_of "$WORK/c.new")"
  row "connect + true, with files (spare agent), median of $RUNS_COLD" ms lower "$(median < "$WORK/c.base")" "$(cold_of "$WORK/c.used")"
  row "connect + true, 50,000 files (spare agent), median of $RUNS_COLD" ms lower "$(median < "$WORK/c.base")" "$(cold_of "$WORK/c.big")"
  echo "# spare agents taken by new sandboxes: $SPARES_TAKEN of $RUNS_COLD; by sandboxes with files: $USED_TAKEN of $RUNS_COLD; with 50,000 files: $BIG_TAKEN of $RUNS_COLD; homes mounted idmapped: $MAPPED of $((2 * RUNS_COLD))"
  echo "# a spare agent's own start (in the background), median: ${SPARE_START:-n/a} ms"
fi

# The bench sandbox's agent should start once, at the first login, and live through the run
# (local.idle-timeout is minutes); every further start put a cold start inside some session,
# and that session's row counts it.
AGENT_STARTS=$(grep -c "agent started: sandbox=bench " "$WORK/gateway.log" || true)
echo "# sandbox bench's agent started $AGENT_STARTS time(s) in this run (1 expected)"

if [ -n "$JSON" ]; then
  helper json "$ROWS" "$JSON" "date=$(date -u +%FT%TZ)" "openssh=$(ssh -V 2>&1 | cut -d, -f1)" \
    "cores=$(nproc)" "quick=$QUICK" "cpu_accounting=$CPU_HOW" \
    "default_cipher_sshd=$CIPHER_BASE" "default_cipher_gateway=$CIPHER_GW" \
    "bench_agent_starts=$AGENT_STARTS" "spares_taken=${SPARES_TAKEN:-0}" \
    "spares_taken_with_files=${USED_TAKEN:-0}" "spares_taken_with_50000_files=${BIG_TAKEN:-0}" \
    "homes_mounted_idmapped=${MAPPED:-0}" "spare_agent_start_ms=${SPARE_START:-0}"
  echo "# rows written to $JSON"
fi
