# Lab 7 grader. The two commands a newcomer needs:
#   make grade    grade reference/ end to end (creates Docker, images and the kind cluster when missing)
#   make test     run every test (unit, static, cluster smoke, reference + fixtures graded on the cluster, then
#                 cluster faults injected into a disposable two-node cluster)
SHELL := /bin/bash
SUBMISSION ?= reference
OUT ?= out/$(notdir $(abspath $(SUBMISSION)))
GO ?= go
export GOTOOLCHAIN ?= local

.PHONY: all build vet grade test test-unit test-e2e test-faults docker images cluster cluster-down bench lint
all: build vet

build: ## Build the grader binary into bin/
	$(GO) build -o bin/grader ./grader/cmd/grader

vet:
	$(GO) vet ./...

docker: ## Install (Debian/Ubuntu, root) and start a Docker engine if none answers
	bash grader/cluster/scripts/ensure-docker.sh

images: docker ## Build (IMAGES=local) or pull (IMAGES=upstream) every image the cluster needs; cached
	bash grader/cluster/scripts/images.sh

cluster: images ## Create or reuse the kind cluster sidecar-lab
	$(GO) run ./grader/cmd/grader cluster up

cluster-down: ## Delete the kind cluster
	$(GO) run ./grader/cmd/grader cluster down

grade: cluster ## Grade SUBMISSION (default reference/) into OUT
	$(GO) run ./grader/cmd/grader --submission $(SUBMISSION) --out $(OUT)

test: cluster ## All tests; the e2e suites need the cluster (CI=true makes a missing cluster fail, never skip)
	$(GO) test -count=1 -timeout 60m $$($(GO) list ./... | grep -v '/tests/faults$$')
	$(MAKE) test-faults

test-faults: images ## Cluster faults on a disposable two-node cluster of their own (run alone: they load the machine)
	$(GO) test -count=1 -timeout 30m ./tests/faults/

test-unit: ## Tests that need no cluster
	$(GO) test -count=1 ./grader/... ./deploy/ ./tests/static/ ./tests/github/ ./tests/classreport/
	$(GO) test -count=1 -short ./tests/hostile/

bench: cluster ## Grade reference/ 5 times on the warm cluster: median wall time per exercise and in total
	$(GO) test -count=1 -run '^$$' -bench BenchmarkGradeReference -benchtime 5x -timeout 30m ./tests/grading/

-include mk/*.mk
