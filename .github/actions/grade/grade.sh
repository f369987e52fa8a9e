#!/usr/bin/env bash
# grade.sh: the steps of the sidecar-lab grading action (action.yml beside this file), one subcommand per step.
#
#   grade.sh source    locate the grader source; output dir
#   grade.sh build     build the grader CLI from it; output bin
#   grade.sh run       run the grader on the submission; outputs exit-code, status, score, max-score, result, report-dir
#   grade.sh summary   append the grader's summary.md to the job summary
#   grade.sh verdict   fail the step, with a distinct message and exit code, unless the submission passed
#
# Each subcommand reads its inputs from the environment (action.yml sets them; tests/github sets them too):
#   source:  GRADER_REF (empty: use the grader that ships with this action), ACTION_DIR (this folder)
#   build:   GRADER_SRC (folder holding go.mod), RUNNER_TEMP
#   run:     GRADER_BIN, SUBMISSION_PATH, PASS_SCORE, EXERCISES, RUBRIC, REPORT_DIR (default $RUNNER_TEMP/sidecar-lab-report)
#   summary: REPORT_DIR, STATUS, EXIT_CODE
#   verdict: STATUS, EXIT_CODE, SCORE, MAX_SCORE, PASS_SCORE
# and GitHub's GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_WORKSPACE.
#
# Statuses (the `status` output) follow the grader's exit codes: 0 pass, 1 fail (graded below the passing score),
# 2 usage-error, 3 error (the grader or the cluster failed: no score may be recorded, so `result` stays empty).
set -euo pipefail

# Maximum bytes appended to the job summary: GitHub accepts at most 1 MiB per step.
readonly SUMMARY_LIMIT=1000000
# Above this many bytes, the Classroom result may not fit in one environment variable of the reporter (Linux caps a
# single variable at 128 KiB).
readonly RESULT_WARN_BYTES=120000

# escape_data escapes workflow-command data: % first, then CR and LF (as @actions/core does).
escape_data() {
	local s=$1
	s=${s//'%'/'%25'}
	s=${s//$'\r'/'%0D'}
	s=${s//$'\n'/'%0A'}
	printf '%s' "$s"
}

# escape_property escapes a workflow-command property value: data escaping plus : and ,.
escape_property() {
	local s
	s=$(escape_data "$1")
	s=${s//':'/'%3A'}
	s=${s//','/'%2C'}
	printf '%s' "$s"
}

# annotate LEVEL TITLE MESSAGE prints a GitHub annotation (LEVEL: error, warning or notice).
annotate() {
	printf '::%s title=%s::%s\n' "$1" "$(escape_property "$2")" "$(escape_data "$3")"
}

# die MESSAGE reports an error annotation and stops the step.
die() {
	annotate error "Sidecar lab grader" "$1"
	exit 1
}

# set_output NAME VALUE appends a step output to $GITHUB_OUTPUT (multi-line values use the delimiter form).
set_output() {
	local name=$1 value=${2-}
	: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: grade.sh runs as a step of the grading action}"
	if [[ $value == *$'\n'* ]]; then
		local delim="EOF_${RANDOM}${RANDOM}${RANDOM}"
		printf '%s<<%s\n%s\n%s\n' "$name" "$delim" "$value" "$delim" >>"$GITHUB_OUTPUT"
	else
		printf '%s=%s\n' "$name" "$value" >>"$GITHUB_OUTPUT"
	fi
}

# abs PATH prints PATH made absolute against the workspace.
abs() {
	if [[ $1 == /* ]]; then
		printf '%s' "$1"
	else
		printf '%s/%s' "${GITHUB_WORKSPACE:-$PWD}" "$1"
	fi
}

# json_int FILE KEY prints the integer top-level KEY of the JSON object in FILE, or nothing.
json_int() {
	local file=$1 key=$2 v=""
	if command -v jq >/dev/null 2>&1; then
		v=$(jq -r --arg k "$key" '.[$k] // empty' "$file" 2>/dev/null || true)
	elif command -v python3 >/dev/null 2>&1; then
		v=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
			"$file" "$key" 2>/dev/null || true)
	else
		# results.json is indented by two spaces, so top-level keys are the only ones indented by exactly two.
		v=$(sed -n "s/^  \"$key\": *\\([0-9][0-9]*\\).*/\\1/p" "$file" | head -n 1)
	fi
	if [[ $v =~ ^[0-9]+$ ]]; then
		printf '%s' "$v"
	fi
}

cmd_source() {
	local dir
	if [[ -n ${GRADER_REF:-} ]]; then
		dir="${GITHUB_WORKSPACE:?GITHUB_WORKSPACE is not set}/.sidecar-lab-grader"
		echo "Grader: ${GRADER_REF} checked out into ${dir}"
	else
		: "${ACTION_DIR:?ACTION_DIR (the action folder) is not set}"
		dir=$(cd "$ACTION_DIR/../../.." && pwd -P)
		if [[ ! -f $dir/go.mod ]]; then
			die "the grader source was not found beside this action (no go.mod in ${dir}); set the grader-ref input to a release tag of the grader."
		fi
		echo "Grader: the source that ships with this action, ${dir}"
	fi
	set_output dir "$dir"
}

cmd_build() {
	: "${GRADER_SRC:?GRADER_SRC (the grader source folder) is not set}"
	if [[ ! -f $GRADER_SRC/go.mod ]]; then
		die "no go.mod in ${GRADER_SRC}: the grader source is missing (check grader-repository and grader-ref)."
	fi
	local bin="${RUNNER_TEMP:-/tmp}/sidecar-lab-grader-bin/grader"
	mkdir -p "$(dirname "$bin")"
	if ! (cd "$GRADER_SRC" && go build -trimpath -o "$bin" ./grader/cmd/grader); then
		die "the grader failed to build from ${GRADER_SRC} (see the log above); no score recorded."
	fi
	set_output bin "$bin"
}

# finish_run writes every output of the run step; values that do not apply are empty.
finish_run() {
	local code=$1 status=$2 score=${3-} max=${4-} result=${5-}
	set_output exit-code "$code"
	set_output status "$status"
	set_output score "$score"
	set_output max-score "$max"
	set_output result "$result"
	echo "Grader exit code ${code}: status ${status}${score:+, score ${score}/${max}}"
}

cmd_run() {
	: "${GRADER_BIN:?GRADER_BIN (the grader binary) is not set}"
	local report_dir="${REPORT_DIR:-${RUNNER_TEMP:-/tmp}/sidecar-lab-report}"
	rm -rf "$report_dir"
	mkdir -p "$report_dir"
	set_output report-dir "$report_dir"

	local sub
	sub=$(abs "${SUBMISSION_PATH:-.}")
	if [[ ! -d $sub ]]; then
		annotate error "Submission not found" "submission-path '${SUBMISSION_PATH:-.}' is not a folder (${sub}). Check the repository out (actions/checkout) before this action, and point submission-path at the folder holding basic-sidecar.yaml."
		finish_run 2 usage-error
		return 0
	fi

	local args=(--submission "$sub" --out "$report_dir")
	if [[ -n ${PASS_SCORE:-} ]]; then args+=(--pass-score "$PASS_SCORE"); fi
	if [[ -n ${EXERCISES:-} ]]; then args+=(--exercise "$EXERCISES"); fi
	if [[ -n ${RUBRIC:-} ]]; then args+=(--rubric "$(abs "$RUBRIC")"); fi

	echo "Running: grader ${args[*]}"
	local code=0
	"$GRADER_BIN" "${args[@]}" || code=$?

	case $code in
	0 | 1) ;;
	2)
		finish_run 2 usage-error
		return 0
		;;
	*)
		finish_run "$code" error
		return 0
		;;
	esac

	local results="$report_dir/results.json" classroom="$report_dir/classroom.b64"
	local score max result=""
	score=$(json_int "$results" score 2>/dev/null || true)
	max=$(json_int "$results" max_score 2>/dev/null || true)
	if [[ ! -s $results || -z $score || -z $max ]]; then
		annotate error "Grader failure" "the grader exited ${code} but left no readable results.json in ${report_dir}; treating it as a grader failure."
		finish_run "$code" error
		return 0
	fi
	if [[ -s $classroom ]]; then
		result=$(tr -d ' \t\r\n' <"$classroom")
		if [[ ! $result =~ ^[A-Za-z0-9+/]*=*$ ]]; then
			annotate warning "Classroom result" "classroom.b64 is not base64; the result output is left empty."
			result=""
		elif ((${#result} > RESULT_WARN_BYTES)); then
			annotate warning "Classroom result" "classroom.b64 has ${#result} bytes; the grading reporter may fail to receive it (one environment variable holds at most 128 KiB)."
		fi
	else
		annotate warning "Classroom result" "the grader wrote no classroom.b64; the result output is empty."
	fi
	local status=pass
	if ((code == 1)); then status=fail; fi
	finish_run "$code" "$status" "$score" "$max" "$result"
}

cmd_summary() {
	: "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set}"
	local file="${REPORT_DIR:-}/summary.md"
	if [[ -n ${REPORT_DIR:-} && -s $file ]]; then
		local size
		size=$(wc -c <"$file")
		if ((size > SUMMARY_LIMIT)); then
			head -c "$SUMMARY_LIMIT" "$file" >>"$GITHUB_STEP_SUMMARY"
			printf '\n\n… summary.md has %s bytes and was cut at %s; the whole file is in the reports artifact.\n' \
				"$size" "$SUMMARY_LIMIT" >>"$GITHUB_STEP_SUMMARY"
		else
			cat "$file" >>"$GITHUB_STEP_SUMMARY"
		fi
	else
		printf '## Sidecar lab grade\n\nThe grader wrote no summary (status: %s, grader exit code: %s). The step log says why.\n' \
			"${STATUS:-unknown}" "${EXIT_CODE:-none}" >>"$GITHUB_STEP_SUMMARY"
	fi
}

cmd_verdict() {
	local score="${SCORE:-?}/${MAX_SCORE:-?}"
	case ${STATUS:-} in
	pass)
		annotate notice "Sidecar lab graded" "Score ${score}: passed."
		;;
	fail)
		annotate error "Graded below passing score" "graded below passing score: ${score} (passing score: ${PASS_SCORE:-${MAX_SCORE:-full marks}}). Each failed check has its own annotation; the job summary lists them all."
		exit 1
		;;
	error)
		annotate error "Grader failure" "grader/cluster failure: re-run; no score recorded (grader exit code ${EXIT_CODE:-?}). This is not a verdict on the submission; the step log and the reports artifact say what broke."
		exit 3
		;;
	usage-error)
		annotate error "Grader usage error" "the grader refused its arguments (exit code 2): check this action's inputs (submission-path, pass-score, exercises, rubric); no score recorded."
		exit 2
		;;
	'')
		annotate error "Grader failure" "grader/cluster failure: re-run; no score recorded (the grader did not run: a setup or build step above failed)."
		exit 3
		;;
	*)
		annotate error "Grader failure" "grader/cluster failure: re-run; no score recorded (unknown status '${STATUS}')."
		exit 3
		;;
	esac
}

main() {
	case ${1:-} in
	source) cmd_source ;;
	build) cmd_build ;;
	run) cmd_run ;;
	summary) cmd_summary ;;
	verdict) cmd_verdict ;;
	*)
		echo "usage: grade.sh source|build|run|summary|verdict (see the comment at the top of this file)" >&2
		exit 2
		;;
	esac
}

main "$@"
