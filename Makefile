# dockerweb — two commands: `make run` starts everything, `make test` passes the tests.
.PHONY: run test bench setup clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh $(ARGS)

bench:
	@scripts/bench.sh $(ARGS)

setup:
	@scripts/setup.sh test

clean:
	rm -rf var/test-* var/bench-*
