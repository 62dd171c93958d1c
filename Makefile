# The project's commands. Each sets itself up: ./ember builds .venv on first use.
PY := .venv/bin/python
READY := .venv/.ember-ready

.PHONY: test lint test-all irstats bench bench-quick compat compat-quick fuzz stress clean

$(READY): pyproject.toml
	./ember -c ""

## make test: lint, then the default test suite (what CI runs)
test: $(READY)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(READY)
	$(PY) -m ruff check .

## make irstats: build, verify and round-trip the IR of every code object in Lib/
irstats: $(READY)
	./ember -m ember.tools.irstats $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')

## make bench [BENCH=nbody,float]: pyperf benchmarks, CPython vs Ember (vs PyPy)
bench: $(READY)
	$(PY) bench/run.py $(if $(BENCH),--bench $(BENCH)) $(BENCH_ARGS)

bench-quick: $(READY)
	$(PY) bench/run.py --quick $(BENCH_ARGS)

## make compat [COMPAT_ARGS=--resume]: CPython's Lib/test under Ember, module by module;
## long: run it in the background (make compat > compat.log 2>&1 &)
compat: $(READY)
	$(PY) compat/run.py $(COMPAT_ARGS)

compat-quick: $(READY)
	$(PY) compat/run.py --quick $(COMPAT_ARGS)

## make fuzz [FUZZ_ARGS="--minutes 120"]: generated programs, python3.12 vs Ember; each
## divergence saved and reduced under fuzz/findings/<time>/ (see fuzz/README.md)
fuzz: $(READY)
	$(PY) -m fuzz.run $(or $(FUZZ_ARGS),--minutes 30)

## make stress [STRESS_REPEAT=20]: the slow stress tests (tests/stress: threads, signals,
## fork, recursion, MemoryError, leaks), each program run STRESS_REPEAT times (default 5)
stress: $(READY)
	EMBER_STRESS=1 STRESS_REPEAT=$(or $(STRESS_REPEAT),5) $(PY) -m pytest -q -m stress tests/stress

clean:
	rm -rf .venv .pytest_cache .ruff_cache .hypothesis
