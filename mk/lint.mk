# mk/lint.mk: lint targets for the GitHub workflows, the grading action and the shell scripts shipped to Gradescope
# and to GitHub. The Makefile includes mk/*.mk; `make lint` runs every lint-* target below (other files may add more).
#
#   lint-actions  actionlint on .github/workflows/*.yml and docs/student-workflow.yml (it also checks the inputs passed
#                 to ./.github/actions/grade, and runs shellcheck on `run:` scripts when shellcheck is installed), then
#                 tests/github, which checks the composite action itself (actionlint only lints workflows)
#   lint-shell    shellcheck on the Gradescope scripts, the action's grade.sh and the test helper scripts; skipped with
#                 a message when shellcheck is not installed (Debian/Ubuntu: apt-get install shellcheck)

GO ?= go
ACTIONLINT ?= $(GO) tool actionlint
SHELLCHECK ?= shellcheck
LINT_WORKFLOWS := $(sort $(wildcard .github/workflows/*.yml .github/workflows/*.yaml)) docs/student-workflow.yml
LINT_SHELL_SCRIPTS := gradescope/run_autograder gradescope/setup.sh gradescope/build-zip.sh \
	.github/actions/grade/grade.sh $(sort $(wildcard tests/github/testdata/*.sh))

.PHONY: lint lint-actions lint-shell
lint: lint-actions lint-shell

lint-actions:
	$(ACTIONLINT) $(LINT_WORKFLOWS)
	$(GO) test -count=1 -run '^Test(Action|Workflow)' ./tests/github/

lint-shell:
	@if command -v $(SHELLCHECK) >/dev/null 2>&1; then \
		echo "$(SHELLCHECK) $(LINT_SHELL_SCRIPTS)"; \
		$(SHELLCHECK) $(LINT_SHELL_SCRIPTS); \
	else \
		echo "lint-shell: skipped: $(SHELLCHECK) is not installed (apt-get install shellcheck)"; \
	fi
