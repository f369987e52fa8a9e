# Shared helpers for the image and cluster scripts. Source it; it defines no behaviour of its own.
# CACHE: where builds are cached, outside the repository, keyed by a hash of their inputs.
CACHE=${SIDECAR_LAB_CACHE:-/var/cache/sidecar-lab}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
LOGS=${SIDECAR_LAB_LOGS:-$CACHE/logs}
mkdir -p "$CACHE" "$LOGS"

say() { echo "[${SAY_PREFIX:-images}] $*"; }
die() { echo "[${SAY_PREFIX:-images}] ERROR: $*" >&2; exit 1; }

# run_step NAME CMD...: runs CMD with output in $LOGS/NAME.log; on failure names the step and its log.
run_step() {
  local name=$1; shift
  local t0=$SECONDS
  say "$name ..."
  # In the background, so that `set -e` holds inside shell functions (an `if` would switch it off).
  local rc=0
  (set -e; "$@") >"$LOGS/$name.log" 2>&1 &
  wait $! || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "[${SAY_PREFIX:-images}] step '$name' FAILED; full log: $LOGS/$name.log; last lines:" >&2
    tail -n 25 "$LOGS/$name.log" >&2
    exit 1
  fi
  say "$name done in $((SECONDS - t0)) s"
}

# hash_inputs FILE|DIR...: a short, stable hash of the named inputs' contents and paths (tests and their testdata
# are not build inputs, so editing them does not rebuild an image).
hash_inputs() {
  (cd "$REPO_ROOT" && find "$@" -type f ! -name '*_test.go' ! -path '*/testdata/*' -print0 | sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16
}

# need_disk GB WHAT: refuses to start a build that needs GB of free space where Docker and the cache live.
need_disk() {
  local gb=$1 what=$2 dir avail
  for dir in "$CACHE" "$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)"; do
    mkdir -p "$dir" 2>/dev/null || true
    avail=$(df -Pk "$dir" 2>/dev/null | awk 'NR==2 {print int($4/1024/1024)}')
    if [ -n "$avail" ] && [ "$avail" -lt "$gb" ]; then
      die "building $what needs about $gb GB free in $dir, but only $avail GB is free.
  Free some space (e.g. 'docker system prune', or remove old entries under $CACHE), then retry."
    fi
  done
}

# debian_mirror: the Debian mirror apt already uses on this machine (DEBIAN_MIRROR overrides).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$m" ] || die "cannot find a Debian mirror in apt's sources; set DEBIAN_MIRROR"
  echo "$m"
}

# ensure_host_tools: debootstrap and friends for local builds (Debian/Ubuntu, root).
ensure_host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v gcc >/dev/null || missing+=(gcc)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "local image builds need: ${missing[*]}; install them (as root: apt-get install ${missing[*]})"
  say "installing ${missing[*]} (apt) ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$LOGS/apt-tools.log" 2>&1 ||
    { apt-get update -q >>"$LOGS/apt-tools.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$LOGS/apt-tools.log" 2>&1; } ||
    die "apt-get install ${missing[*]} failed; log: $LOGS/apt-tools.log"
}

# image_has_label IMAGE HASH: true when IMAGE exists locally and was built from inputs hashing to HASH.
image_has_label() {
  [ -z "${SIDECAR_LAB_REBUILD:-}" ] || return 1 # SIDECAR_LAB_REBUILD=1: rebuild even when up to date (to time a build)
  [ "$(docker image inspect --format '{{index .Config.Labels "sidecar-lab.inputs"}}' "$1" 2>/dev/null)" = "$2" ]
}

# kind_module_dir: the kind module's directory in the Go module cache (downloaded first on a new machine).
kind_module_dir() {
  (cd "$REPO_ROOT" && go mod download sigs.k8s.io/kind && go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
}

# debootstrap_tar NAME PACKAGES OUT: a minbase Debian root filesystem with PACKAGES, as a tarball at OUT.
debootstrap_tar() {
  local name=$1 pkgs=$2 out=$3 dir
  dir=$(mktemp -d "$CACHE/rootfs-$name.XXXXXX")
  debootstrap --variant=minbase --include="$pkgs" "${DEBIAN_SUITE:-bookworm}" "$dir" "$(debian_mirror)" &&
    chroot "$dir" apt-get clean &&
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* "$dir"/usr/share/man/* \
      "$dir"/usr/share/locale/* "$dir"/var/log/*.log &&
    tar -C "$dir" --numeric-owner -cf "$out.tmp" . && mv "$out.tmp" "$out"
  local rc=$?
  rm -rf "$dir"
  return $rc
}
