#!/usr/bin/env bash
# Builds every Go/C binary the offline kind node image carries, from the Go module proxy and gcc only:
# Kubernetes (kubeadm, kubelet, kubectl, control plane, kube-proxy), etcd, CoreDNS, crictl, the local-path
# provisioner and pause. Usage: build-binaries.sh OUTDIR. Each step logs to OUTDIR/logs/<step>.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
out=${1:?usage: build-binaries.sh OUTDIR}
mkdir -p "$out/bin" "$out/logs"
work=$(mktemp -d /tmp/sidecar-lab-bin.XXXXXX)
trap 'rm -rf "$work"' EXIT
export GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0 GOTOOLCHAIN=local

step() { # step NAME CMD...: runs CMD with its output in the step's log, says where the log is on failure
  local name=$1; shift
  local t0=$SECONDS
  echo "  [binaries] $name ..."
  if ! "$@" >"$out/logs/$name.log" 2>&1; then
    echo "  [binaries] step '$name' FAILED; its log: $out/logs/$name.log (last lines below)" >&2
    tail -n 20 "$out/logs/$name.log" >&2
    exit 1
  fi
  echo "  [binaries] $name done in $((SECONDS - t0)) s"
}

kube() {
  mkdir -p "$work/kube" && cd "$work/kube"
  go mod init nodebuild/kube
  local mod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod
  go mod download k8s.io/kubernetes@"$KUBE_VERSION"
  # every staging repo that kubernetes' go.mod points at ./staging gets the matching published version
  local args=()
  while read -r repo; do args+=("-replace=$repo=$repo@$STAGING_VERSION"); done \
    < <(awk '$2=="=>" && $3 ~ /^\.\/staging/ {print $1}' "$mod")
  go mod edit "${args[@]}"
  go get k8s.io/kubernetes@"$KUBE_VERSION"
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local ld=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.gitTreeState=clean"
    ld+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  go build -ldflags "-s -w $ld" -o "$out/bin/" \
    k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy
  "$out/bin/kubeadm" version -o short | grep -qx "$KUBE_VERSION"
  # pause is C: compile kubernetes' own pause.c statically
  gcc -Os -static -DVERSION="v$PAUSE_TAG" -o "$out/bin/pause" \
    "$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
  strip "$out/bin/pause"
}

etcd() {
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init nodebuild/etcd
  go mod edit -require=go.etcd.io/etcd/server/v3@v$ETCD_VERSION \
    -require=go.etcd.io/etcd/api/v3@v$ETCD_VERSION -require=go.etcd.io/etcd/client/v3@v$ETCD_VERSION \
    -require=go.etcd.io/etcd/client/pkg/v3@v$ETCD_VERSION -require=go.etcd.io/etcd/pkg/v3@v$ETCD_VERSION
  go build -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
  go build -ldflags "-s -w" -o "$out/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3 2>/dev/null || true
}

coredns() {
  GOBIN="$out/bin" go install -ldflags "-s -w" github.com/coredns/coredns@"$COREDNS_VERSION"
}

crictl() {
  GOBIN="$out/bin" go install -ldflags "-s -w" sigs.k8s.io/cri-tools/cmd/crictl@"$CRICTL_VERSION"
}

localpath() {
  GOBIN="$out/bin" go install -ldflags "-s -w" github.com/rancher/local-path-provisioner@"$LOCAL_PATH_VERSION"
}

step kubernetes kube
step etcd etcd
step coredns coredns
step crictl crictl
step local-path-provisioner localpath
ls -la "$out/bin"
