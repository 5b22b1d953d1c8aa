# Entry points for people and CI; each target calls a script in scripts/ (which bootstraps .venv itself).
.DEFAULT_GOAL := help
.PHONY: help serve test bench s3-tests

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

serve: ## Start lakebox on the embedded default (ARGS="--workers 2 ..." passes flags)
	scripts/serve $(ARGS)

test: ## Lint, type-check and run the whole test suite (SQLite, then PostgreSQL)
	scripts/test $(ARGS)

bench: ## S3 benchmark: lakebox vs moto, same client, ratios (ARGS="--workers 2 --scale 0.1 ...")
	scripts/bench $(ARGS)

s3-tests: ## ceph/s3-tests conformance selection (ARGS="--endpoint http://127.0.0.1:9000 ...")
	scripts/s3-tests $(ARGS)
