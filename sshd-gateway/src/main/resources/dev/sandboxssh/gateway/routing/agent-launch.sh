# Starts the agent of one local sandbox (run by bash -c; see IsolatedAgentLauncher):
#   agent-launch UID PROCS NOFILE NPROC INFO N [SRC NAME]... -- COMMAND...
# UID       the host uid (and gid) to drop to, or empty to keep the gateway's
# PROCS     cgroup.procs files to join, colon-separated, or empty
# NOFILE    RLIMIT_NOFILE, or empty; NPROC RLIMIT_NPROC, or empty
# INFO      a file opened as fd 3 for bwrap --info-fd, or empty
# N pairs   host paths to stage as /tmp/.sandbox-ssh/NAME (root only, in a mount namespace of its own)
#
# Why staging: bwrap runs as the sandbox's unprivileged uid and resolves every bind source as that
# uid, but the gateway's data dir and the agent's classpath may sit under a directory only root can
# enter (/root). Root opens each source here, binds it under a tmpfs that only this mount namespace
# sees, and drops privileges only afterwards; nothing is opened up on the host.
set -euo pipefail
uid=$1 procs=$2 nofile=$3 nproc=$4 info=$5 n=$6
shift 6
if [ -n "$procs" ]; then
  IFS=: read -ra files <<< "$procs"
  for f in "${files[@]}"; do echo $$ > "$f"; done
fi
if [ -n "$nofile" ]; then ulimit -n "$nofile"; fi
if [ -n "$nproc" ]; then ulimit -u "$nproc"; fi
if [ -n "$info" ]; then exec 3>"$info"; fi
if (( n > 0 )); then
  fds=() names=()
  for ((i = 0; i < n; i++)); do
    exec {fd}<"$1"
    fds+=("$fd") names+=("$2")
    shift 2
  done
  mount -t tmpfs -o mode=1777 sandbox-ssh /tmp
  # Every mount point in one mkdir (a file's is made by the shell): each process here is some
  # milliseconds of the first login to a sandbox whose agent is not running.
  dirs=(/tmp/.sandbox-ssh)
  for i in "${!fds[@]}"; do
    if [ -d "/proc/self/fd/${fds[$i]}" ]; then dirs+=("/tmp/.sandbox-ssh/${names[$i]}"); fi
  done
  mkdir -m 0755 "${dirs[@]}"
  # The mounts at once, and each waited for, so that a failed one still stops the launch.
  pids=()
  for i in "${!fds[@]}"; do
    src=/proc/self/fd/${fds[$i]} dst=/tmp/.sandbox-ssh/${names[$i]}
    if [ ! -d "$src" ]; then : > "$dst"; fi
    mount --bind "$src" "$dst" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for fd in "${fds[@]}"; do eval "exec $fd<&-"; done
fi
if [ "${1:-}" = -- ]; then shift; fi
if [ -n "$uid" ]; then
  # No capabilities, no groups of the gateway's, and no way back up through a setuid binary.
  exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --no-new-privs -- "$@"
fi
exec "$@"
