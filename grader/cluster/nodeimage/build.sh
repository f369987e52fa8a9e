#!/usr/bin/env bash
# Builds the offline kind node image (NODE_IMAGE in versions.env) with no container registry: Kubernetes and its
# friends from the Go module proxy, root filesystems from Debian packages, kind's own base files from the kind module
# in the Go module cache. Every stage is cached under $CACHE by a hash of its inputs; a repeat is a no-op.
# Needs: docker, root, debootstrap, gcc, go. The lab images (reference/images/build.sh) must exist: kube-proxy's
# image reuses their Debian base layer.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
SAY_PREFIX=node-image
here=$REPO_ROOT/grader/cluster/nodeimage
. "$here/versions.env"
cd "$REPO_ROOT"

kind_dir=$(kind_module_dir) || die "cannot download the kind module (go mod download sigs.k8s.io/kind)"
kind_version=$(go list -m -f '{{.Version}}' sigs.k8s.io/kind)
labbase_id=$(docker image inspect --format '{{.Id}}' sidecar-lab/labbase:latest 2>/dev/null) ||
  die "the lab images' base (sidecar-lab/labbase:latest) is missing: run reference/images/build.sh first"

bin_hash=$(hash_inputs grader/cluster/nodeimage/versions.env grader/cluster/nodeimage/build-binaries.sh)
node_hash=$( (hash_inputs grader/cluster/nodeimage grader/cluster/runcwrap grader/cluster/scripts/lib.sh; echo "$kind_version $labbase_id") | sha256sum | cut -c1-16)

if image_has_label "$NODE_IMAGE" "$node_hash"; then
  say "$NODE_IMAGE up to date (inputs $node_hash)"
  exit 0
fi
need_disk 15 "the node image (Go builds ~8 GB, root filesystem ~1 GB, image ~1.3 GB, Docker layers)"
ensure_host_tools

# 1. The node's root filesystem (in the background).
rootfs_hash=$(echo "$DEBIAN_SUITE node-rootfs-v1" | sha256sum | cut -c1-16)
rootfs=$CACHE/node-rootfs-$rootfs_hash.tar
rootfs_pid=""
if [ ! -f "$rootfs" ]; then
  # In the background: debootstrap waits on the network and disk, the binaries below on the CPU.
  run_step node-rootfs debootstrap_tar node \
    systemd,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,curl,jq,procps,e2fsprogs,socat,ebtables,ipset,iputils-ping,less,findutils \
    "$rootfs" &
  rootfs_pid=$!
fi
# 2. Binaries (the long step: ~10-20 min cold on 2 cores).
bins=$CACHE/bin-$bin_hash
if [ ! -f "$bins/.done" ]; then
  say "building Kubernetes $KUBE_VERSION, etcd, CoreDNS, crictl, local-path-provisioner, pause from source (cold: 10-20 min) ..."
  rm -rf "$bins"
  SAY_PREFIX=node-image run_step node-binaries bash "$here/build-binaries.sh" "$bins"
  touch "$bins/.done"
fi

if [ -n "$rootfs_pid" ]; then
  wait "$rootfs_pid" || die "the node's root filesystem failed to build; its log: $LOGS/node-rootfs.log"
fi
base=sidecar-lab/node-rootfs:$rootfs_hash
docker image inspect "$base" >/dev/null 2>&1 || run_step node-rootfs-import docker import "$rootfs" "$base"

# 3. The build context: kind's base files from the module cache, our binaries, our files.
ctx=$(mktemp -d "$CACHE/node-ctx.XXXXXX")
cleanup() { [ ! -f "$ctx/container" ] || docker rm -f -v "$(cat "$ctx/container")" >/dev/null 2>&1 || true; rm -rf "$ctx"; }
trap cleanup EXIT
mkdir -p "$ctx/bin" "$ctx/files"
cp -r "$kind_dir/images/base/files" "$ctx/kind-files" && chmod -R u+w "$ctx/kind-files"
cp "$bins"/bin/{kubeadm,kubelet,kubectl,crictl} "$ctx/bin/"
CGO_ENABLED=0 go build -trimpath -o "$ctx/bin/runcwrap" ./grader/cluster/runcwrap
cp "$here"/files/* "$ctx/files/"
cp "$here/Dockerfile" "$ctx/"
# kind's default storage manifest (local-path provisioner) is a Go constant in the kind module: take it from there.
sed -n '/^const defaultStorageManifest = `/,/^`$/p' "$kind_dir/pkg/build/nodeimage/const_storage.go" | sed '1d;$d' |
  sed "s#\` + storageProvisionerImage + \`#$LOCAL_PATH_PROVISIONER_IMAGE#; s#\` + storageHelperImage + \`#$LOCAL_PATH_HELPER_IMAGE#" \
  >"$ctx/files/default-storage.yaml"
grep -q "$LOCAL_PATH_HELPER_IMAGE" "$ctx/files/default-storage.yaml" || die "could not extract kind's storage manifest from $kind_dir"
run_step node-base-image docker build --build-arg "BASE=$base" --build-arg "KUBE_VERSION=$KUBE_VERSION" \
  --build-arg "PAUSE_TAG=$PAUSE_TAG" -t sidecar-lab/node-base:"$node_hash" "$ctx"

# 4. The images kubeadm and kind run, named exactly as they expect.
imgs=$ctx/images && mkdir -p "$imgs"
cp "$bins"/bin/* "$imgs/"
component() { # component TAG BASE BINARY DEST [ENTRYPOINT-JSON]
  local tag=$1 from=$2 bin=$3 dest=$4 ep=${5:-}
  {
    echo "FROM $from"
    echo "COPY $bin $dest"
    echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    [ -z "$ep" ] || echo "ENTRYPOINT $ep"
  } >"$imgs/Dockerfile.$bin"
  docker build -q -f "$imgs/Dockerfile.$bin" -t "$tag" "$imgs" >/dev/null
}
build_components() {
  local k=registry.k8s.io
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    component "$k/$c:$KUBE_VERSION" busybox:1.35 "$c" /usr/local/bin/"$c"
  done
  component "$k/kube-proxy:$KUBE_VERSION" sidecar-lab/labbase:latest kube-proxy /usr/local/bin/kube-proxy
  component "$k/etcd:$ETCD_TAG" busybox:1.35 etcd /usr/local/bin/etcd
  component "$k/coredns/coredns:$COREDNS_VERSION" busybox:1.35 coredns /coredns '["/coredns"]'
  component "$k/pause:$PAUSE_TAG" scratch pause /pause '["/pause"]'
  component "$LOCAL_PATH_PROVISIONER_IMAGE" busybox:1.35 local-path-provisioner /usr/bin/local-path-provisioner
  docker tag busybox:1.35 "$LOCAL_PATH_HELPER_IMAGE"
  docker save -o "$ctx/images.tar" \
    "$k/kube-apiserver:$KUBE_VERSION" "$k/kube-controller-manager:$KUBE_VERSION" "$k/kube-scheduler:$KUBE_VERSION" \
    "$k/kube-proxy:$KUBE_VERSION" "$k/etcd:$ETCD_TAG" "$k/coredns/coredns:$COREDNS_VERSION" "$k/pause:$PAUSE_TAG" \
    "$LOCAL_PATH_PROVISIONER_IMAGE" "$LOCAL_PATH_HELPER_IMAGE"
}
run_step node-component-images build_components

# 5. Pre-load them into the node's containerd (as kind's own node-image build does), then commit.
preload() {
  local work_container
  work_container=$(docker run -d --init --entrypoint=sleep --security-opt seccomp=unconfined sidecar-lab/node-base:"$node_hash" infinity)
  echo "$work_container" >"$ctx/container"
  docker cp "$ctx/images.tar" "$work_container:/images.tar"
  docker exec "$work_container" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker exec "$work_container" ctr version >/dev/null 2>&1 && break; sleep 1; done
  docker exec "$work_container" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --no-unpack /images.tar
  docker exec "$work_container" ctr --namespace=k8s.io images list -q
  # stop containerd cleanly (--init reaps it, so it does not linger as a zombie) before the commit
  docker exec "$work_container" bash -c 'pkill containerd; for i in $(seq 1 60); do ctr version >/dev/null 2>&1 || exit 0; sleep 0.5; done; exit 1'
  docker exec "$work_container" rm -f /images.tar /tmp/containerd.log
  docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change "LABEL sidecar-lab.inputs=$node_hash" "$work_container" "$NODE_IMAGE"
}
run_step node-preload preload
say "built $NODE_IMAGE (inputs $node_hash)"
