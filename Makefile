# seqcourse: every target sets up its own environment first, so on a fresh
# machine `make lab` and `make test` are the only commands you need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Run everything with the virtual environment first on PATH, so that Jupyter
# kernels started by nbval and nbgrader use its python, and nothing global.
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0
PYTEST_ARGS ?=
SUBMISSIONS ?= submitted
# e.g. LAB_ARGS="--no-browser --port=8899"; root (containers) also needs --allow-root, added below
LAB_ARGS ?=

.PHONY: help install lab formgrader instructor-setup book bench-redraw test test-fast release validate grade bench mutants lock clean

help:
	@echo "make lab      open the course in JupyterLab (sets up .venv on first use)"
	@echo "make test     install what is needed and run every test"
	@echo "make release  regenerate assignments/ from solutions/ (nbgrader generate_assignment)"
	@echo "make validate NB=path/to/notebook.ipynb   check a notebook before submitting it"
	@echo "make grade    autograde SUBMISSIONS=folder, write feedback and grades.csv"
	@echo "              (SHARD=i/n DB_URL=postgresql://... grades one shard into a shared gradebook)"
	@echo "make bench    seconds per notebook, per graded submission, a class of 100 against plain nbgrader"
	@echo "make mutants  mutation score of every exercise's tests (MUTANTS_ARGS=\"hw02_hmm:viterbi --survivors\")"
	@echo "make lock     re-resolve constraints.txt from pyproject.toml's ranges"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--constraint constraints.txt --editable '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Students work on their own copies in work/ (git-ignored, never overwritten; see
# tools/student_workspace.py), with nbgrader's instructor panels off (jupyter/student/).
lab: $(STAMP)
	$(BIN)/python tools/student_workspace.py
	JUPYTER_CONFIG_PATH=$(abspath jupyter/student) $(BIN)/jupyter lab --ServerApp.root_dir=work \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The instructor's JupyterLab, opening on Formgrader (jupyter/instructor/; local exchange).
COURSE ?= .
instructor-setup:
	mkdir -p $(COURSE)/nbgrader_exchange && chmod 777 $(COURSE)/nbgrader_exchange

formgrader: $(STAMP) instructor-setup
	JUPYTER_CONFIG_PATH=$(abspath jupyter/instructor) $(BIN)/jupyter lab --ServerApp.root_dir=. \
		--ServerApp.default_url=/formgrader $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Explorer redraw times measured in the browser by tests/test_browser.py.
bench-redraw: $(STAMP)
	$(BIN)/python tools/bench_redraw.py

# The course as a static website in build/book/ (executed lectures; see book/README.md).
book: $(STAMP)
	$(BIN)/python tools/build_book.py

test: $(STAMP)
	rm -rf .nbruns
	$(BIN)/python -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" tests $(PYTEST_ARGS)

release: $(STAMP)
	$(BIN)/python -m gradebox release

validate: $(STAMP)
	$(BIN)/python -m gradebox validate $(NB)

grade: $(STAMP)
	$(BIN)/python -m gradebox grade $(SUBMISSIONS) $(if $(JOBS),--jobs $(JOBS)) $(if $(UNSAFE),--unsafe-no-sandbox) \
		$(if $(SHARD),--shard $(SHARD)) $(if $(DB_URL),--db-url $(DB_URL))

bench: $(STAMP)
	$(BIN)/python tools/bench.py

mutants: $(STAMP)
	$(BIN)/python tools/mutants.py $(MUTANTS_ARGS)

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --editable '.[test]'
	{ sed -n '1,3p' constraints.txt; .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.tmp
	mv constraints.tmp constraints.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .bench gradebook.db autograded feedback submitted
