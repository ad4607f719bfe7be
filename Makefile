# dockerweb — two commands: `make run` starts everything, `make test` passes the tests.
.PHONY: run test bench setup clean agent

run:
	@scripts/run.sh

test:
	@DB=$(DB) scripts/test.sh $(ARGS)

bench:
	@DB=$(DB) scripts/bench.sh $(ARGS)

# A worker beside the engine of host HOST (see docs/deploy.md): `make agent HOST=name`.
agent:
	@scripts/setup.sh
	@scripts/serve.sh agent $(HOST)

setup:
	@scripts/setup.sh test

clean:
	rm -rf var/test-* var/bench-*
