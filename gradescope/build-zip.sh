#!/usr/bin/env bash
# build-zip.sh: makes the Gradescope autograder zip (docs/gradescope.md): setup.sh, run_autograder and the grader
# binary (static, linux/amd64 unless GOARCH says otherwise) at the root of the archive, plus the optional files that
# run_autograder reads: kubeconfig, rubric.yaml and grader.env.
#
# Usage: gradescope/build-zip.sh [-o OUT.zip] [--kubeconfig FILE] [--rubric FILE] [--env FILE]
#   -o OUT.zip         where to write the archive (default: out/gradescope-autograder.zip)
#   --kubeconfig FILE  the grading cluster's kubeconfig (without it every submission gets an "Autograder error")
#   --rubric FILE      an instructor rubric file (grader --rubric)
#   --env FILE         a grader.env of KEY=value lines (GRADER_CONTEXT, GRADER_EXERCISES, ...)
# GRADER_BIN=FILE packs a prebuilt grader instead of building one with `go build`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
out="$root/out/gradescope-autograder.zip"
kubeconfig="" rubric="" envfile=""

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while (($#)); do
	case $1 in
	-o) out=${2:?-o needs a file}; shift 2 ;;
	--kubeconfig) kubeconfig=${2:?--kubeconfig needs a file}; shift 2 ;;
	--rubric) rubric=${2:?--rubric needs a file}; shift 2 ;;
	--env) envfile=${2:?--env needs a file}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "build-zip.sh: unknown argument: $1" >&2; usage ;;
	esac
done
for f in "$kubeconfig" "$rubric" "$envfile"; do
	if [[ -n $f && ! -f $f ]]; then
		echo "build-zip.sh: no such file: $f" >&2
		exit 2
	fi
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cp "$here/setup.sh" "$here/run_autograder" "$stage/"
if [[ -n ${GRADER_BIN:-} ]]; then
	cp "$GRADER_BIN" "$stage/grader"
else
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-amd64} go build -trimpath -o "$stage/grader" ./grader/cmd/grader)
fi
chmod 0755 "$stage/setup.sh" "$stage/run_autograder" "$stage/grader"
if [[ -n $kubeconfig ]]; then install -m 0600 "$kubeconfig" "$stage/kubeconfig"; fi
if [[ -n $rubric ]]; then install -m 0644 "$rubric" "$stage/rubric.yaml"; fi
if [[ -n $envfile ]]; then install -m 0644 "$envfile" "$stage/grader.env"; fi

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd -P)/$(basename "$out")
rm -f "$out"
# The files, not their folder, go at the root of the archive: Gradescope looks for setup.sh and run_autograder there.
if command -v zip >/dev/null 2>&1; then
	(cd "$stage" && zip -q -X -r "$out" .)
else
	python3 - "$stage" "$out" <<'PY'
import os, sys, zipfile
stage, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(stage)):
        z.write(os.path.join(stage, name), name)
PY
fi
echo "build-zip.sh: wrote $out"
if [[ -z $kubeconfig ]]; then
	echo "build-zip.sh: warning: no --kubeconfig: Gradescope has no Docker, so the grader has no cluster to grade on." >&2
fi
