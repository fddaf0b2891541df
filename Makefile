# skinapp — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
DATA   ?= ../shared/data/derm
WEIGHTS ?= ../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5

.PHONY: install install-dev run test lint bench share train evaluate segment-metrics clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install  ## install and start the app on the shipped model
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install-dev  ## install and run the whole test suite
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m skinapp.bench

share: install
	$(BIN)/python -m skinapp.share

train: install
	$(BIN)/python -m skinapp.train --data $(DATA) --backbone-weights $(WEIGHTS) --out models

evaluate: install
	$(BIN)/python -m skinapp.evaluate --data $(DATA) --model-dir models

segment-metrics: install
	$(BIN)/python -m skinapp.vision.measure --data $(DATA) --out models/segmentation_metrics.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
