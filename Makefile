# skinapp — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
DATA   ?= ../shared/data/derm
WEIGHTS ?= ../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5

.PHONY: install install-dev run test lint bench share serve serve-stop train cv evaluate evidence \
	cross-dataset segment-metrics clean

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

bench: install  ## speed (benchmarks/results.json), then the app under load (benchmarks/load.json)
	$(BIN)/python -m skinapp.bench
	$(BIN)/python -m skinapp.bench --load

share: install
	$(BIN)/python -m skinapp.share

# A clinic on this machine: REPLICAS Streamlit processes behind nginx (TLS, sticky sessions)
# sharing PostgreSQL (SKINAPP_DATABASE_URL, or a throw-away one). See README "Run it for a clinic".
REPLICAS      ?= 2
SERVE_ADDRESS ?= 127.0.0.1
SERVE_PORT    ?= 8443
serve: install  ## Ctrl-C stops nginx, the replicas and the throw-away database
	REPLICAS=$(REPLICAS) SERVE_ADDRESS=$(SERVE_ADDRESS) SERVE_PORT=$(SERVE_PORT) \
		PYTHON=$(BIN)/python bash deploy/serve.sh

serve-stop:  ## stop a `make serve` started with SKINAPP_SERVE_DIR=<folder>
	bash deploy/serve.sh stop

# The shipped model: two members trained on the same cached activations, averaged into one.
TRAIN_ARGS = --data $(DATA) --backbone-weights $(WEIGHTS) --cache-dir runs/cache
train: install
	$(BIN)/python -m skinapp.train $(TRAIN_ARGS) --out runs/member_1
	$(BIN)/python -m skinapp.train $(TRAIN_ARGS) --out runs/member_2 \
		--finetune-lr 3e-5 --dropout 0.5 --finetune-epochs 16 --patience 5
	$(BIN)/python -m skinapp.model.ensemble runs/member_1 runs/member_2 --out models

cv: install  ## lesion-grouped 5-fold cross-validation of the first member's recipe
	$(BIN)/python -m skinapp.train $(TRAIN_ARGS) --out models --folds 5

evaluate: install
	$(BIN)/python -m skinapp.evaluate --data $(DATA) --model-dir models --trust --differential

evidence: install  ## ABCD baseline, ablations, leakage demo; re-renders the card and gallery
	$(BIN)/python -m skinapp.evidence.baseline --data $(DATA) --model-dir models
	$(BIN)/python -m skinapp.evidence.ablation --data $(DATA) --model-dir models
	$(BIN)/python -m skinapp.evidence.leakage --data $(DATA) --out models/leakage.json
	$(BIN)/python -m skinapp.evidence.report --data $(DATA) --model-dir models

cross-dataset: install  ## train on HAM10000 only, test on the other collections
	$(BIN)/python -m skinapp.train $(TRAIN_ARGS) --out runs/ham_only --train-datasets HAM10000
	$(BIN)/python -m skinapp.evidence.cross_dataset --data $(DATA) --model-dir runs/ham_only \
		--reference models

# The outline against the ground-truth masks: the learned segmenter beside the classical fallback
# (after hair removal). The headline is the test split; val (tuning) and train (the segmenter's
# training masks) are extra rows under by_split, labelled in split_roles.
SEGMENT_SPLITS ?= test val train
SEGMENT_JOBS   ?= 2
SEGMENT_OUT    ?= models/segmentation_metrics.json
segment-metrics: install  ## rerun models/segmentation_metrics.json (a few minutes)
	$(BIN)/python -m skinapp.vision.measure --data $(DATA) --out $(SEGMENT_OUT) \
		--jobs $(SEGMENT_JOBS) --splits $(SEGMENT_SPLITS) --classical hair

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
