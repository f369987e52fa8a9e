#!/usr/bin/env bash
# Makes sure a Docker engine answers and can run privileged containers (kind nodes).
# - `docker info` works already: use it (and warn if this host needs the runtime wrapper and the daemon lacks it).
# - otherwise, as root on Debian/Ubuntu: install Debian's docker.io if dockerd is missing, then start dockerd with a
#   config file of our own. If the host's capability bounding set lacks capabilities that `--privileged` asks for
#   (CAP_SYS_RESOURCE on our CI VM), that config makes runcwrap the default runtime.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
state=/var/lib/sidecar-lab
wrap=/usr/local/libexec/sidecar-lab/runcwrap
log=/var/log/sidecar-lab-dockerd.log

say() { echo "[docker] $*"; }
die() { echo "[docker] ERROR: $*" >&2; exit 1; }

# host_lacks_caps: true when CAP_SYS_RESOURCE (bit 24) is missing from this host's bounding set.
host_lacks_caps() {
  local bnd; bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (( (16#$bnd >> 24 & 1) == 0 ))
}

build_wrapper() {
  mkdir -p "$(dirname "$wrap")"
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$wrap.new" ./grader/cluster/runcwrap) && mv "$wrap.new" "$wrap"
}

if docker info >/dev/null 2>&1; then
  if host_lacks_caps && ! docker info --format '{{.DefaultRuntime}}' 2>/dev/null | grep -q sidecar-lab; then
    say "WARNING: this host lacks CAP_SYS_RESOURCE and the running dockerd has no runtime wrapper;"
    say "         privileged kind nodes will fail. Stop dockerd and run 'make docker' to restart it with the wrapper."
  fi
  say "engine answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null), runtime $(docker info --format '{{.DefaultRuntime}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  die "no Docker engine answers ('docker info' fails) and this is not root, so it cannot be installed or started.
  Start Docker yourself (e.g. 'sudo systemctl start docker', or Docker Desktop), or run 'sudo make docker'."
fi

if ! command -v dockerd >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and this is not a Debian/Ubuntu machine: install Docker, then retry."
  say "installing Debian's docker.io (apt) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/tmp/sidecar-lab-apt.log 2>&1 || die "apt-get update failed; log: /tmp/sidecar-lab-apt.log"
  apt-get install -y -q docker.io >>/tmp/sidecar-lab-apt.log 2>&1 || die "apt-get install docker.io failed; log: /tmp/sidecar-lab-apt.log"
fi

mkdir -p "$state" /etc/sidecar-lab
conf=/etc/sidecar-lab/docker-daemon.json
if host_lacks_caps; then
  say "this host's capability bounding set lacks CAP_SYS_RESOURCE: privileged containers go through $wrap"
  build_wrapper
  cat >"$conf" <<JSON
{"runtimes": {"sidecar-lab-runc": {"path": "$wrap"}}, "default-runtime": "sidecar-lab-runc"}
JSON
else
  echo '{}' >"$conf"
fi

# A dockerd of a previous boot may have left its pid files behind.
rm -f /var/run/docker.pid /run/docker.pid
say "starting dockerd (log: $log) ..."
nohup dockerd --config-file "$conf" >>"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    say "engine up ($(docker info --format '{{.ServerVersion}}'), default runtime $(docker info --format '{{.DefaultRuntime}}'))"
    exit 0
  fi
  sleep 1
done
tail -n 20 "$log" >&2
die "dockerd did not answer within 60 s; its log: $log"
