# The README's two commands: `make demo` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# aws-sam-cli pins boto3 exactly: it gets an environment of its own.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# checkov pins an old boto3 and packaging: an environment of its own too.
CHECKOV_VENV := .venv-checkov
# What the Lambda runtime (boto3) and the Powertools layer (Powertools, pydantic) put on a function's path, and
# nothing else: the artifact test runs the built handlers on it (tests/e2e/test_built_artifact.py).
LAMBDA_RUNTIME := .lambda-runtime
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# mkdocs-material's notice about its successor, on every build.
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test lint typecheck unit sam-validate sam-build checkov clean bench-decisions bench pictures

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli>=1.120'
	touch $@

$(LAMBDA_RUNTIME)/.installed: pyproject.toml | $(BIN)/.installed
	rm -rf $(LAMBDA_RUNTIME)
	$(BIN)/python -m pip install --quiet --target $(LAMBDA_RUNTIME) boto3 'aws-lambda-powertools>=3.20,<4' \
		'pydantic>=2.7,<3'
	touch $@

$(CHECKOV_VENV)/.installed:
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov>=3.2'
	touch $@

# The demo needs only the CLI and the local extra: a fresh checkout installs just those (not the development
# toolchain); one that has run `make test` already has them. (`@`: the output is the demo's alone, JSON with --json.)
$(BIN)/.installed-local: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

demo: $(if $(wildcard $(BIN)/.installed),$(BIN)/.installed,$(BIN)/.installed-local)
	@$(BIN)/bluegreen demo --as-intended $(ARGS)

# The timeline pictures in docs/, drawn from current demo runs (a promoted and a rolled-back release).
pictures: $(if $(wildcard $(BIN)/.installed),$(BIN)/.installed,$(BIN)/.installed-local)
	$(BIN)/bluegreen demo --as-intended --json --scenario healthy --report docs/promoted.svg > /dev/null
	$(BIN)/bluegreen demo --as-intended --json --scenario flaky --report docs/rolled-back.svg > /dev/null

test: lint typecheck sam-validate sam-build checkov unit

lint: $(BIN)/.installed
	$(BIN)/ruff check src functions tests scripts benchmarks examples
	$(BIN)/cfn-lint template.yaml examples/*.yaml examples/*/template.yaml
	# Serverless rules too; every exception is justified where it is declared (the template's Metadata, a resource's).
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml examples/*.yaml \
		examples/*/template.yaml
	$(BIN)/python scripts/lint_asl.py
	site=$$(mktemp -d) && $(BIN)/mkdocs build --strict --site-dir "$$site"; status=$$?; rm -rf "$$site"; \
		exit $$status

typecheck: $(BIN)/.installed
	$(BIN)/mypy src functions tests benchmarks examples/orders-app/src

# Every skipped check carries its reason: template.yaml's common ones in .checkov-bluegreen.yaml (not .checkov.yaml, which checkov would apply to every run), the rest in the
# resource's Metadata. The examples (the user's side) are checked without the common skips.
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --config-file .checkov-bluegreen.yaml -f template.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact -f examples/codepipeline.yaml \
		-f examples/notifications.yaml -f examples/orders-app/template.yaml

sam-validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint --region $(AWS_DEFAULT_REGION)
	# The example application, as its team would validate it.
	$(SAM) validate --lint --region $(AWS_DEFAULT_REGION) -t examples/orders-app/template.yaml

sam-build: $(SAM_VENV)/.installed
	$(SAM) build --region $(AWS_DEFAULT_REGION)

# As many workers as the machine has cores (pytest-xdist "auto"): the end-to-end tests wait on the
# executions' own events, not on a machine left idle.
# The artifact test builds the stack with the SAM CLI and runs its handlers on the Lambda runtime's packages.
unit: $(BIN)/.installed $(SAM_VENV)/.installed $(LAMBDA_RUNTIME)/.installed
	$(BIN)/pytest -n auto

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(LAMBDA_RUNTIME) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# Decision quality of the health check on simulated releases (docs/decision-quality.md).
bench-decisions: $(BIN)/.installed
	$(BIN)/python benchmarks/decision_quality.py $(ARGS)

# What a release costs and how fast it reacts (docs/cost-and-speed.md).
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/release_costs.py $(ARGS)
