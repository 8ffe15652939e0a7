# The user's commands. Every target sets up the pinned virtualenv (.venv) on first use.
#   make sim TEST=nmi_seamret [SEED=n] [WAVES=1] [STRICT=1] [OUT=<json>] [MODE=] [FW_BUG=]  run a test on the RTL (Verilator) against the model
#                                                  (STRICT=1: every cycle sampled, not only the design's events)
#   make test | test-full                          the fast test tier (a sample of everything) | every test
#   make model FILE=<scenario> [OUT=<json>]        a scenario on the golden model alone
#   (sim, scenario, model: MAX_CYCLES=n sets the run bound shared by the model and the RTL, default 200,000)
#   make scenario FILE=<file|folder|a,b> [OUT=<json>] [MODE=] [TARGET=] [WAVES=1]  scenario files on the RTL and the model
#   make debug TEST=<test> SEED=<n> [MODE=] [BUG=]  re-run a failure with waves, a GTKWave view and the timelines
#   make explore                                   every NMI placement in every configuration
#   make bench [NIGHTLY=1]                         speed: the model, the four ways of running, the targets
#                                                  (NIGHTLY=1 also times make regress SEEDS=1000 TESTS=random [MODE=softcore])
#   make formal [BUG=<rtl bug>]                    prove the RTL's NMI invariants (SymbiYosys + Yices)
#   make regress [SEEDS=n] [JOBS=n] [TESTS=regex] [CLUSTER=tcp://host:8786] [MODE=softcore [TARGET=harness|vboard]]  every test x seeds, locally or on Dask
#   make scheduler [PORT=8786] | worker SCHEDULER=tcp://host:8786 [THREADS=2]  a Dask cluster for make regress CLUSTER=
#   make regress RERUN=failed                      exactly the failed jobs of the last regression, with their seeds
#   make regress COVERAGE=1, make sim ... COVERAGE=1  line and toggle coverage of the RTL (lcov on the Amaranth lines; HTML with Debian's lcov)
#   make coverage [RESET=1]                        functional coverage merged over this design's regressions
#   make report                                    rebuild the regression dashboard (build/regress/dashboard.html)
#   make plan | mutants                            testplan with status; mutation kill table
#   make mcy [N=300] [JOBS=n] [SEED=n] [REPORT=1]  automatic RTL mutants (Yosys mutate), equivalence, kill ratio (REPORT=1: the database only)
#   make bitstream BOARD=icebreaker|ulx3s [SOAK=<config>|SOFTCORE=1]  FPGA bitstream (the bridge, the soak core or the softcore board),
#                                                  utilisation, Fmax; make program BOARD=... [SOAK=] flashes it
#   make sim TEST=... TARGET=vboard|board [PORT=]  the same test over the UART bridge (virtual or real board)
#   make sim TEST=... MODE=program [TARGET=sim]    program mode on the raw C++ harness (TARGET=sim: under cocotb)
#   make soak [TARGET=vboard|sim|board] [SECONDS=60] [CONFIG=all|legacy,...] [PORT=]  the firmware under an NMI storm,
#                                                  counters read back as it runs, the spec's signs asserted
#   make list | rtl | clean | help                 (rtl: build/rtl/nmi_top.v and nmi_soc.v, stable names, and the hashed copies)
#   make lint                                      ruff on the Python, verilator --lint-only -Wall on the Verilog

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST   ?= nmi_seamret
comma  := ,
# q: one shell word, whatever the value holds (spaces, quotes): 'it'\''s' for it's
q = '$(subst ','\'',$(1))'
export PYTHONPATH := $(CURDIR)

.PHONY: report help scheduler worker soak venv test test-full sim debug coverage model scenario explore bench formal regress plan mutants mcy bitstream program list rtl lint clean

venv: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setting up $(VENV) (pinned dependencies from pyproject.toml)"
	@$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

test: $(STAMP)
	$(PY) -m pytest -m "not full"

test-full: $(STAMP)
	$(PY) -m pytest

sim: $(STAMP)
	$(PY) -m tb.flows.runner sim $(call q,$(TEST)) $(if $(SEED),--seed $(call q,$(SEED))) $(if $(WAVES),--waves) $(if $(filter 1,$(COVERAGE)),--coverage) $(if $(MODE),--mode $(call q,$(MODE))) $(if $(TARGET),--target $(call q,$(TARGET))) $(if $(PORT),--port $(call q,$(PORT))) $(if $(filter 1,$(STRICT)),--strict) $(if $(OUT),--out $(call q,$(OUT))) $(foreach b,$(subst $(comma), ,$(BUG)),--bug $(call q,$(b))) $(foreach b,$(subst $(comma), ,$(FW_BUG)),--fw-bug $(call q,$(b))) $(if $(MAX_CYCLES),--max-cycles $(call q,$(MAX_CYCLES)))

debug: $(STAMP)
	$(if $(TEST),,@echo "usage: make debug TEST=<test> SEED=<n> [MODE=] [BUG=] [FW_BUG=]  (the failing run's reproduce line)"; exit 2)
	$(if $(SEED),,@echo "make debug: SEED= is needed (the reproduce line of the failure names it)"; exit 2)
	$(PY) -m tb.flows.runner sim $(call q,$(TEST)) --seed $(call q,$(SEED)) --waves $(if $(MODE),--mode $(call q,$(MODE))) $(foreach b,$(subst $(comma), ,$(BUG)),--bug $(call q,$(b))) $(foreach b,$(subst $(comma), ,$(FW_BUG)),--fw-bug $(call q,$(b)))

scenario: $(STAMP)
	$(if $(FILE),,@echo "usage: make scenario FILE=<file.yaml|folder|a.yaml,b.yaml> [OUT=<json>] [MODE=program] [TARGET=sim|harness|vboard|board PORT=]"; exit 2)
	$(PY) -m tb.flows.runner scenario $(call q,$(FILE)) $(if $(WAVES),--waves) $(if $(OUT),--out $(call q,$(OUT))) $(if $(MODE),--mode $(call q,$(MODE))) $(if $(TARGET),--target $(call q,$(TARGET))) $(if $(PORT),--port $(call q,$(PORT))) $(foreach b,$(subst $(comma), ,$(BUG)),--bug $(call q,$(b))) $(foreach b,$(subst $(comma), ,$(FW_BUG)),--fw-bug $(call q,$(b))) $(if $(MAX_CYCLES),--max-cycles $(call q,$(MAX_CYCLES)))

model: $(STAMP)
	$(if $(FILE),,@echo "usage: make model FILE=<scenario.yaml> [OUT=<outcome.json>]"; exit 2)
	$(PY) -m py_model run $(call q,$(FILE)) $(if $(OUT),--out $(call q,$(OUT))) $(if $(MAX_CYCLES),--max-cycles $(call q,$(MAX_CYCLES)))

explore: $(STAMP)
	$(PY) -m py_model explore

SEEDS ?= 20
JOBS  ?= 2
regress: $(STAMP)
	$(PY) -m tb.flows.regress run --seeds $(call q,$(SEEDS)) --jobs $(call q,$(JOBS)) $(if $(TESTS),--tests $(call q,$(TESTS))) $(if $(CLUSTER),--cluster $(call q,$(CLUSTER))) $(if $(RERUN),--rerun $(call q,$(RERUN))) $(if $(filter 1,$(COVERAGE)),--coverage) $(if $(MODE),--mode $(call q,$(MODE))) $(if $(TARGET),--target $(call q,$(TARGET)))

coverage: $(STAMP)
	$(PY) -m tb.flows.regress coverage $(if $(filter 1,$(RESET)),--reset)

report: $(STAMP)
	$(PY) -m tb.flows.regress report

plan: $(STAMP)
	$(PY) -m tb.flows.regress plan

# A Dask cluster for make regress CLUSTER=...: the project is on the scheduler's and workers' path
# (PYTHONPATH, exported above), since both unpickle the regression's tasks.
PORT    ?= 8786
THREADS ?= 2
scheduler: $(STAMP)
	DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 $(VENV)/bin/dask scheduler --port $(call q,$(PORT)) --no-dashboard $(if $(SCHEDULER_FILE),--scheduler-file $(call q,$(SCHEDULER_FILE)))

worker: $(STAMP)
	$(if $(SCHEDULER),,@echo "usage: make worker SCHEDULER=tcp://host:8786 [THREADS=2] [NAME=] [NANNY=0]"; exit 2)
	$(VENV)/bin/dask worker $(call q,$(SCHEDULER)) --nthreads $(call q,$(THREADS)) --no-dashboard $(if $(NAME),--name $(call q,$(NAME))) $(if $(filter 0,$(NANNY)),--no-nanny)

mutants: $(STAMP)
	$(PY) -m tb.flows.mutants --jobs $(call q,$(JOBS))

N ?= 300
mcy: $(STAMP)
	$(PY) -m tb.flows.mcy --n $(call q,$(N)) --jobs $(call q,$(JOBS)) $(if $(SEED),--seed $(call q,$(SEED))) $(if $(filter 1,$(REPORT)),--report)

BOARD ?= icebreaker
bitstream: $(STAMP)
	$(PY) -m tb.flows.bitstream $(call q,$(BOARD)) $(if $(SOAK),--soak $(call q,$(SOAK))) $(if $(filter 1,$(SOFTCORE)),--softcore)

program: $(STAMP)
	$(PY) -m tb.flows.bitstream $(call q,$(BOARD)) --program $(if $(SOAK),--soak $(call q,$(SOAK))) $(if $(filter 1,$(SOFTCORE)),--softcore)

SECONDS ?= 60
soak: $(STAMP)
	$(PY) -m tb.flows.soak --seconds $(call q,$(SECONDS)) $(if $(WAVES),--waves) $(if $(TARGET),--target $(call q,$(TARGET))) $(if $(CONFIG),--config $(call q,$(CONFIG))) $(if $(PORT),--port $(call q,$(PORT))) $(foreach b,$(subst $(comma), ,$(BUG)),--bug $(call q,$(b)))

formal: $(STAMP)
	$(PY) -m tb.flows.formal $(foreach b,$(subst $(comma), ,$(BUG)),--bug $(call q,$(b)))

bench: $(STAMP)
	$(PY) -m py_model bench
	NIGHTLY=$(call q,$(NIGHTLY)) $(PY) -m tb.flows.bench

list: $(STAMP)
	@$(PY) -m tb.flows.runner list

rtl: $(STAMP)
	$(PY) -m rtl

# The command table: the comment block at the top of this file.
help:
	@sed -n '2,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed -e 's/^# \{0,1\}//' -e '/^$$/d'

lint: $(STAMP)
	$(VENV)/bin/ruff check rtl py_model tb tests
	$(PY) -m tb.flows.runner lint

clean:
	rm -rf build sim_build results.xml .pytest_cache
