#!/usr/bin/env bash
# Builds the lab's three images locally from Debian packages, with the exact upstream tags:
# nginx:1.24-alpine, busybox:1.35, python:3.11-alpine. Cached by a hash of this folder; a repeat is a no-op.
set -euo pipefail
. "$(dirname "$0")/../../grader/cluster/scripts/lib.sh"
SAY_PREFIX=lab-images
here=$REPO_ROOT/reference/images
hash=$(hash_inputs reference/images grader/cluster/scripts/lib.sh)

if image_has_label nginx:1.24-alpine "$hash" && image_has_label busybox:1.35 "$hash" && image_has_label python:3.11-alpine "$hash"; then
  say "nginx:1.24-alpine, busybox:1.35, python:3.11-alpine up to date (inputs $hash)"
  exit 0
fi
need_disk 4 "the lab images"
ensure_host_tools

# One Debian root filesystem serves nginx and python (and the node's kube-proxy): a shared layer, stored once.
# Its cache key is the package list alone, so editing a Dockerfile does not re-run debootstrap.
base_pkgs=nginx,curl,python3.11,ca-certificates,iptables,nftables,conntrack,ipset
base_hash=$(echo "${DEBIAN_SUITE:-bookworm} $base_pkgs" | sha256sum | cut -c1-16)
base_tar=$CACHE/labbase-$base_hash.tar
if [ ! -f "$base_tar" ]; then
  run_step labbase-debootstrap debootstrap_tar labbase "$base_pkgs" "$base_tar"
fi
base=sidecar-lab/labbase:$base_hash
docker image inspect "$base" >/dev/null 2>&1 || run_step labbase-import docker import "$base_tar" "$base"

# busybox: the busybox-static .deb's binary in an otherwise empty image.
bb=$CACHE/busybox-$base_hash
if [ ! -x "$bb/rootfs/bin/busybox" ]; then
  fetch_busybox() {
    rm -rf "$bb" && mkdir -p "$bb/deb" "$bb/rootfs"/{bin,tmp,etc,root,var/log} &&
      (cd "$bb/deb" && apt-get download busybox-static) &&
      dpkg-deb -x "$bb"/deb/busybox-static_*.deb "$bb/deb/x" &&
      cp "$bb/deb/x/bin/busybox" "$bb/rootfs/bin/busybox" &&
      chmod 1777 "$bb/rootfs/tmp" &&
      printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$bb/rootfs/etc/passwd" &&
      printf 'root:x:0:\nnogroup:x:65534:\n' >"$bb/rootfs/etc/group"
  }
  run_step busybox-fetch fetch_busybox
fi
"$bb/rootfs/bin/busybox" 2>&1 | head -1 | grep -q 'v1.35' || die "busybox-static is not 1.35 ($("$bb/rootfs/bin/busybox" 2>&1 | head -1))"

cp -a "$here/busybox/Dockerfile" "$bb/Dockerfile"
run_step busybox-image docker build --label "sidecar-lab.inputs=$hash" -t busybox:1.35 "$bb"
run_step nginx-image docker build --build-arg "BASE=$base" --label "sidecar-lab.inputs=$hash" -t nginx:1.24-alpine "$here/nginx"
run_step python-image docker build --build-arg "BASE=$base" --label "sidecar-lab.inputs=$hash" -t python:3.11-alpine "$here/python"
docker tag "$base" sidecar-lab/labbase:latest
say "built nginx:1.24-alpine, busybox:1.35, python:3.11-alpine (inputs $hash)"
