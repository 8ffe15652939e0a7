# The user's commands. Every target sets up the pinned virtualenv (.venv) on first use.
#   make sim TEST=nmi_seamret [SEED=n] [WAVES=1]   run a test on the RTL (Verilator) against the model
#   make test                                      the project's test suite
#   make model FILE=<scenario> [OUT=<json>]        a scenario on the golden model alone
#   make scenario FILE=<scenario> [OUT=<json>]     a scenario on the RTL and on the model
#   make explore                                   every NMI placement in every configuration
#   make bench                                     model speed: idle skipping against stepping
#   make formal [BUG=<rtl bug>]                    prove the RTL's NMI invariants (SymbiYosys + Yices)
#   make regress [SEEDS=n] [JOBS=n] [TESTS=regex]  every test x seeds in parallel, coverage, JUnit XML
#   make plan | mutants                            testplan with status; mutation kill table
#   make bitstream BOARD=icebreaker|ulx3s          FPGA bitstream, utilisation, Fmax; make program BOARD=... flashes it
#   make sim TEST=... TARGET=vboard|board [PORT=]  the same test over the UART bridge (virtual or real board)
#   make list | rtl | lint | clean

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST   ?= nmi_seamret
comma  := ,
export PYTHONPATH := $(CURDIR)

.PHONY: venv test sim model scenario explore bench formal regress plan mutants bitstream program list rtl lint clean

venv: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setting up $(VENV) (pinned dependencies from pyproject.toml)"
	@$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

test: $(STAMP)
	$(PY) -m pytest

sim: $(STAMP)
	$(PY) -m tb.runner sim $(TEST) $(if $(SEED),--seed $(SEED)) $(if $(WAVES),--waves) $(if $(MODE),--mode $(MODE)) $(if $(TARGET),--target $(TARGET)) $(if $(PORT),--port $(PORT)) $(foreach b,$(subst $(comma), ,$(BUG)),--bug $(b))

scenario: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make scenario FILE=<scenario.yaml> [OUT=<outcome.json>]"; exit 2; }
	$(PY) -m tb.runner scenario $(FILE) $(if $(OUT),--out $(OUT))

model: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make model FILE=<scenario.yaml> [OUT=<outcome.json>]"; exit 2; }
	$(PY) -m py_model run $(FILE) $(if $(OUT),--out $(OUT))

explore: $(STAMP)
	$(PY) -m py_model explore

SEEDS ?= 20
JOBS  ?= 2
regress: $(STAMP)
	$(PY) -m tb.regress run --seeds $(SEEDS) --jobs $(JOBS) $(if $(TESTS),--tests '$(TESTS)')

plan: $(STAMP)
	$(PY) -m tb.regress plan

mutants: $(STAMP)
	$(PY) -m tb.mutants --jobs $(JOBS)

BOARD ?= icebreaker
bitstream: $(STAMP)
	$(PY) -m tb.bitstream $(BOARD)

program: $(STAMP)
	$(PY) -m tb.bitstream $(BOARD) --program

formal: $(STAMP)
	$(PY) -m tb.formal $(foreach b,$(BUG),--bug $(b))

bench: $(STAMP)
	$(PY) -m py_model.bench
	$(PY) -m tb.bench

list: $(STAMP)
	@$(PY) -m tb.runner list

rtl: $(STAMP)
	$(PY) -m rtl.generate

lint: $(STAMP)
	$(PY) -m tb.runner lint

clean:
	rm -rf build sim_build results.xml .pytest_cache
