"""``evidence.json`` and the gallery, written by ``python -m skinapp.evaluate`` after the metrics.

    python -m skinapp.evidence.report --data ../shared/data/derm --model-dir models

(the same step on its own, from the saved ``test_predictions.csv``; it also re-renders
``MODEL_CARD.md`` so the card picks up every evidence file in ``models/``).

``evidence.json`` holds the per-diagnosis table, melanoma-vs-rest AUC, all labels beside the
histopathology-confirmed subset, and the subgroup table (see :mod:`skinapp.evidence.breakdown`
for the definitions). ``gallery/`` holds the gallery (see :mod:`skinapp.evidence.gallery`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from skinapp.evidence import breakdown
from skinapp.model.metrics import MIN_CLASS_COUNT
from skinapp.model.report import _jsonable

logger = logging.getLogger(__name__)

EVIDENCE_FILE = "evidence.json"
PREDICTIONS_FILE = "test_predictions.csv"


def model_version(model_dir: str | Path) -> str | None:
    """The model id the app shows (first 12 hex digits of the sha256 of ``model.tflite``)."""
    path = Path(model_dir) / "model.tflite"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else None


def compute_evidence(
    preds: pd.DataFrame,
    thresholds: dict[str, float],
    overall_auc: float,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything in ``evidence.json`` from test predictions and the grade thresholds."""
    common = {"n_boot": n_boot, "seed": seed}
    return _jsonable(
        {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "split": "test",
            "source": PREDICTIONS_FILE,
            "n": len(preds),
            "thresholds": {k: thresholds[k] for k in ("t1", "t2", "operating")},
            "overall_auc": overall_auc,
            "diagnoses": breakdown.diagnosis_table(preds, thresholds),
            "melanoma": breakdown.melanoma_vs_rest(preds, **common),
            "confirmed": breakdown.confirmed_subsets(preds, thresholds, **common),
            "subgroups": breakdown.subgroup_table(preds, thresholds, overall_auc, **common),
            "definitions": {
                "sensitivity_operating": "share of the diagnosis with p >= operating threshold",
                "sensitivity_t1": "share with p >= t1, i.e. not put in grade 1",
                "too_small": f"fewer than {MIN_CLASS_COUNT} malignant or benign lesions: "
                "no AUC reported",
                "below_overall": "the subgroup's whole 95% CI lies below the overall test AUC",
                "auc_ci": "stratified percentile bootstrap, as for the headline AUC",
                "probability": "calibrated probability of malignancy",
            },
            "bootstrap": common,
        }
    )


def write_evidence(
    model_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    classifier=None,
    n_boot: int = 2000,
    seed: int = 0,
    gallery_k: int = 3,
) -> dict[str, Any]:
    """Write ``evidence.json`` (and the gallery when ``data_dir`` and ``classifier`` are given).

    Reads ``metrics.json`` (thresholds, overall AUC) and ``test_predictions.csv`` from
    ``model_dir``, both written by ``python -m skinapp.evaluate``.
    """
    from skinapp.evidence.gallery import write_gallery

    model_dir = Path(model_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    preds = pd.read_csv(model_dir / PREDICTIONS_FILE, dtype={"image_id": str})
    thresholds = metrics["thresholds"]
    overall = (metrics["test"].get("roc_auc") or {}).get("auc")
    evidence = compute_evidence(preds, thresholds, overall, n_boot=n_boot, seed=seed)
    if data_dir is not None and classifier is not None:
        meta = pd.read_csv(Path(data_dir) / "metadata.csv", dtype={"image_id": str})
        table = write_gallery(
            model_dir, preds, thresholds, data_dir, classifier, k=gallery_k, licences=meta
        )
        evidence["gallery"] = {"n": len(table), "k_per_cell": gallery_k}
    (model_dir / EVIDENCE_FILE).write_text(json.dumps(evidence, indent=2) + "\n")
    logger.info("Wrote %s", model_dir / EVIDENCE_FILE)
    return evidence


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skinapp.evidence.report", description=__doc__)
    p.add_argument("--model-dir", default="models")
    p.add_argument("--data", help="derm data folder (needed for the gallery images)")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from skinapp.model.card import refresh_model_card
    from skinapp.serving import Classifier

    model_dir = Path(args.model_dir)
    classifier = Classifier(model_dir, calibrated=False) if args.data else None
    ev = write_evidence(
        model_dir, data_dir=args.data, classifier=classifier, n_boot=args.n_boot, seed=args.seed
    )
    refresh_model_card(model_dir)  # the card quotes evidence.json
    mel = ev["melanoma"]["vs_rest"]
    print(f"melanoma-vs-rest AUC {mel['auc']}; wrote {model_dir / EVIDENCE_FILE} and the card")
    return 0


if __name__ == "__main__":
    sys.exit(main())
