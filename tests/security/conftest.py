"""Fixtures of the attack tests: the other suites' harnesses, shared."""
from tests.containers.conftest import run  # noqa: F401  (fixture: `run(role, **fields)` → POST a container)
