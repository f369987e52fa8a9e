#!/usr/bin/env bash
# setup.sh: Gradescope runs this once, as root, when it builds the autograder image (docs/gradescope.md).
#
# The autograder zip (made by gradescope/build-zip.sh) already holds a static grader binary, so nothing is compiled
# here: this checks the zip's contents and installs the CA certificates the grader may need to reach the cluster.
# SOURCE_DIR overrides /autograder/source (for trying it locally).
set -euo pipefail

SOURCE_DIR=${SOURCE_DIR:-/autograder/source}

fail() {
	printf 'setup.sh: %s\n' "$*" >&2
	exit 1
}

[[ -f $SOURCE_DIR/grader ]] ||
	fail "no grader binary in ${SOURCE_DIR}: build the autograder zip with gradescope/build-zip.sh."
chmod 0755 "$SOURCE_DIR/grader" "$SOURCE_DIR/run_autograder"
"$SOURCE_DIR/grader" --help >/dev/null 2>&1 || [[ $? -eq 2 ]] ||
	fail "${SOURCE_DIR}/grader does not run on this image (uname -m: $(uname -m)); rebuild it with GOARCH matching the image."

if [[ ! -f $SOURCE_DIR/kubeconfig ]]; then
	printf 'setup.sh: warning: no kubeconfig in the autograder zip; every submission will get an "Autograder error" result\n' >&2
	printf 'setup.sh: warning: unless grader.env sets GRADER_KUBECONFIG (Gradescope provides no Docker for a local cluster).\n' >&2
fi

if command -v apt-get >/dev/null 2>&1 && [[ ! -f /etc/ssl/certs/ca-certificates.crt ]]; then
	apt-get install -y --no-install-recommends ca-certificates
fi
echo "setup.sh: the sidecar-lab grader is ready in ${SOURCE_DIR}"
