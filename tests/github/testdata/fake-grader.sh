#!/usr/bin/env bash
# fake-grader.sh: stands in for the grader CLI (grader --submission DIR --out OUTDIR ...) in tests/github.
# It writes every argument, one per line, to $FAKE_ARGS_FILE (if set), copies the recorded reports in $FAKE_REPORTS
# (if set) into OUTDIR, writes $FAKE_STDERR (if set) to stderr, and exits with $FAKE_EXIT (default 0).
set -euo pipefail

out=""
args=("$@")
while (($#)); do
	case $1 in
	--out)
		out=${2:?--out needs a folder}
		shift 2
		;;
	*) shift ;;
	esac
done
if [[ -n ${FAKE_ARGS_FILE:-} ]]; then
	printf '%s\n' "${args[@]}" >"$FAKE_ARGS_FILE"
fi
if [[ -z $out ]]; then
	echo "fake-grader: --out is required" >&2
	exit 2
fi
mkdir -p "$out"
if [[ -n ${FAKE_REPORTS:-} ]]; then
	cp -R "$FAKE_REPORTS/." "$out/"
fi
echo "fake-grader: graded (exit ${FAKE_EXIT:-0})"
if [[ -n ${FAKE_STDERR:-} ]]; then
	printf '%s\n' "$FAKE_STDERR" >&2
fi
exit "${FAKE_EXIT:-0}"
