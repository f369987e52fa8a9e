#!/usr/bin/env bash
# Provides every image the grading cluster needs, from one of two sources (IMAGES=upstream|local):
#   upstream: pull kind's default node image and nginx:1.24-alpine, busybox:1.35, python:3.11-alpine once on the host;
#   local:    build them all from Debian packages and Go modules (no registry at all), cached under $CACHE.
# Default: upstream when the registry answers, otherwise local. The choice is written to $CACHE/images.env, which
# the cluster code reads (NODE_IMAGE).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SAY_PREFIX=images
t0=$SECONDS
mode=${IMAGES:-}
lab_images=(nginx:1.24-alpine busybox:1.35 python:3.11-alpine)
kind_dir=$(kind_module_dir) || die "cannot download the kind module (go mod download sigs.k8s.io/kind)"
kind_default=$(sed -n 's/^const Image = "\(.*\)"$/\1/p' "$kind_dir/pkg/apis/config/defaults/image.go")
[ -n "$kind_default" ] || die "cannot read kind's default node image from $kind_dir"

if [ -z "$mode" ]; then
  if timeout 25 docker pull -q busybox:1.35 >/dev/null 2>&1; then
    mode=upstream
    say "IMAGES not set: the container registry answers, so using upstream images (set IMAGES=local to build them)"
  else
    mode=local
    say "IMAGES not set: no container registry answers, so building every image locally (IMAGES=local)"
  fi
else
  say "IMAGES=$mode"
fi

case "$mode" in
upstream)
  for img in "$kind_default" "${lab_images[@]}"; do
    if docker image inspect "$img" >/dev/null 2>&1; then say "$img present"; continue; fi
    run_step "pull-$(echo "$img" | tr '/:@' '___' | cut -c1-60)" docker pull "$img"
  done
  node_image=$kind_default
  ;;
local)
  bash "$REPO_ROOT/reference/images/build.sh"
  bash "$REPO_ROOT/grader/cluster/nodeimage/build.sh"
  node_image=$(. "$REPO_ROOT/grader/cluster/nodeimage/versions.env" && echo "$NODE_IMAGE")
  ;;
*) die "IMAGES must be 'upstream' or 'local', not '$mode'" ;;
esac
printf 'IMAGES=%s\nNODE_IMAGE=%s\n' "$mode" "$node_image" >"$CACHE/images.env"
say "images ready ($mode; node image $node_image) in $((SECONDS - t0)) s"
