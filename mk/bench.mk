# mk/bench.mk: how fast the grader grades a whole class. The Makefile includes mk/*.mk.
#
#   bench-class   builds a class of BENCH_COPIES copies of reference/ mixed with every broken fixture of fixtures/
#                 (37 submissions by default) in a temporary directory, grades it with
#                 `grader --submissions DIR --out $(BENCH_OUT)` under GNU time (`/usr/bin/time -v`, Debian's `time`
#                 package, installed when missing), and prints the wall time, the submissions graded per minute and
#                 the grader's peak RSS, then checks every verdict (tests/internal/expect/verifyclass: each copy of
#                 reference/ full marks, each fixture exactly its expected.yaml, no grading errored; exit 1
#                 otherwise). The grader is built first and the binary timed, rather than timing
#                 `go run ./grader/cmd/grader`: GNU time reports the largest RSS of the process tree, and under
#                 `go run` that can be the compiler's or the linker's, not the grader's.
#                 BENCH_PARALLEL sets --parallel (empty: the grader chooses from the cluster's free CPU);
#                 BENCH_FLAGS adds flags, e.g. BENCH_FLAGS="--kubeconfig ~/.kube/sidecar-lab.kubeconfig" to grade on a
#                 running cluster without `make cluster`'s checks (then run `make -o cluster bench-class`).
#                 On the 2-core kind node (2026-11-26): 37 submissions in 9 min 30 s, 3 at a time;
#                 BENCH_COPIES=3 (20 submissions) in 5 min 43 s.

GO ?= go
BENCH_COPIES ?= 20
BENCH_PARALLEL ?=
BENCH_FLAGS ?=
BENCH_OUT ?= out/bench-class
GNU_TIME ?= /usr/bin/time

.PHONY: bench-class
bench-class: cluster ## Grade 20 copies of reference/ and the broken fixtures as one class: wall time, submissions/min, peak RSS
	@set -euo pipefail; \
	if ! $(GNU_TIME) --version >/dev/null 2>&1; then \
		echo "bench-class: installing Debian's time package (GNU time)"; \
		apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }; \
	fi; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/class"; \
	for i in $$(seq -w 1 $(BENCH_COPIES)); do \
		mkdir "$$tmp/class/reference-$$i"; cp reference/*.yaml "$$tmp/class/reference-$$i/"; \
	done; \
	for f in fixtures/*/; do \
		n=$$(basename "$$f"); mkdir "$$tmp/class/fixture-$$n"; \
		find "$$f" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) ! -name expected.yaml -exec cp {} "$$tmp/class/fixture-$$n/" \; ; \
	done; \
	subs=$$(find "$$tmp/class" -mindepth 1 -maxdepth 1 -type d | wc -l); \
	$(GO) build -o "$$tmp/grader" ./grader/cmd/grader; \
	[ -n "$(BENCH_OUT)" ] && rm -rf "$(BENCH_OUT)"; \
	echo "bench-class: grading $$subs submissions ($(BENCH_COPIES) copies of reference/, $$((subs - $(BENCH_COPIES))) fixtures) into $(BENCH_OUT)"; \
	t0=$$(date +%s.%N); rc=0; \
	$(GNU_TIME) -v -o "$$tmp/time.txt" "$$tmp/grader" --submissions "$$tmp/class" --out "$(BENCH_OUT)" \
		$(if $(BENCH_PARALLEL),--parallel $(BENCH_PARALLEL)) $(BENCH_FLAGS) || rc=$$?; \
	t1=$$(date +%s.%N); \
	rss=$$(awk -F': ' '/Maximum resident set size/ {print $$2}' "$$tmp/time.txt"); \
	cp "$$tmp/time.txt" "$(BENCH_OUT)/time.txt" 2>/dev/null || true; \
	awk -v t0="$$t0" -v t1="$$t1" -v n="$$subs" -v rss="$$rss" -v rc="$$rc" 'BEGIN { \
		w = t1 - t0; \
		printf "bench-class: %d submissions in %.0f s (%d min %02d s): %.2f submissions per minute\n", n, w, int(w / 60), int(w) % 60, n * 60 / w; \
		printf "bench-class: grader peak RSS %.0f MiB (GNU time, maximum resident set size); grader exit code %d\n", rss / 1024, rc }'; \
	if [ -f "$(BENCH_OUT)/class.csv" ]; then \
		awk -F, 'NR > 1 { st[$$2]++ } END { for (s in st) printf "bench-class: %d submission(s) %s\n", st[s], s }' "$(BENCH_OUT)/class.csv"; \
	fi; \
	echo "bench-class: reports in $(BENCH_OUT) (class.html, class.csv, checks.csv; GNU time's output in time.txt)"; \
	$(GO) run ./tests/internal/expect/verifyclass -fixtures fixtures "$(BENCH_OUT)" || rc=$${rc/#0/1}; \
	exit $$rc
