"""``python -m skinapp.evidence.baseline``: a transparent model on the ABCD descriptors vs the CNN.

    python -m skinapp.evidence.baseline --data ../shared/data/derm --model-dir models

The lesion is segmented and described exactly as in the app (:mod:`skinapp.evidence.descriptors`,
cached under ``runs/evidence/``). Two feature sets: ``abcd`` (asymmetry, border compactness and
fractal dimension, colour shares and count, relative diameter and area, border contact, lesion
found) and ``abcd_meta`` (plus age, sex and body site where the source has them, each with a
missing indicator). For each, a class-balanced logistic regression (C from a grid) and a
gradient-boosting model (depth from a grid) are fitted on ``train``, the best is chosen by ROC
AUC on ``val``, and it is scored once on ``test``. The CNN's test scores come from
``models/test_predictions.csv``; the comparison is paired on the same test images (DeLong and
paired bootstrap). Writes ``models/baseline.json`` with the logistic-regression coefficients
and each descriptor's own AUC for malignancy (``descriptor_auc``: the raw value as the score).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinapp.evidence.descriptors import DEFAULT_CACHE, DESCRIPTOR_COLUMNS, load_descriptors
from skinapp.evidence.stats import compare_aucs
from skinapp.model.data import binary_labels, read_metadata
from skinapp.model.metrics import roc_auc_with_ci

logger = logging.getLogger(__name__)

FEATURE_SETS = ("abcd", "abcd_meta")
LR_C = (0.01, 0.1, 1.0, 10.0)
GB_DEPTH = (2, 3)
MIN_SITE_COUNT = 20  # rarer body sites are pooled as "other"


class FeatureBuilder:
    """Turns descriptors (+ metadata) into a numeric matrix; imputation learnt on train only."""

    def __init__(self, with_meta: bool):
        self.with_meta = with_meta
        self.medians: dict[str, float] = {}
        self.sites: list[str] = []

    def fit(self, table: pd.DataFrame) -> FeatureBuilder:
        cols = [*DESCRIPTOR_COLUMNS, "age"] if self.with_meta else list(DESCRIPTOR_COLUMNS)
        self.medians = {c: float(pd.to_numeric(table[c], errors="coerce").median()) for c in cols}
        if self.with_meta:
            counts = table["localization"].dropna().value_counts()
            self.sites = sorted(
                s for s, n in counts.items() if n >= MIN_SITE_COUNT and s != "unknown"
            )
        return self

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        x = pd.DataFrame(index=table.index)
        x["found"] = table["found"].fillna(0).astype(float)
        for c in DESCRIPTOR_COLUMNS:
            x[c] = pd.to_numeric(table[c], errors="coerce").fillna(self.medians[c])
        if not self.with_meta:
            return x
        age = pd.to_numeric(table["age"], errors="coerce")
        x["age"] = age.fillna(self.medians["age"])
        x["age_missing"] = age.isna().astype(float)
        sex = table["sex"].fillna("unknown")
        for s in ("male", "female"):
            x[f"sex_{s}"] = (sex == s).astype(float)
        x["sex_missing"] = (~sex.isin(["male", "female"])).astype(float)
        site = table["localization"].fillna("unknown")
        for s in self.sites:
            x[f"site_{s}"] = (site == s).astype(float)
        x["site_missing"] = (site == "unknown").astype(float)
        x["site_other"] = (~site.isin([*self.sites, "unknown"])).astype(float)
        return x


FAMILIES = ("logistic_regression", "gradient_boosting")


def candidates(families: tuple[str, ...] = FAMILIES) -> list[tuple[str, Any]]:
    """``(name, unfitted model)`` pairs searched on val."""
    out: list[tuple[str, Any]] = [
        (
            f"logistic_regression(C={c})",
            make_pipeline(
                StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
            ),
        )
        for c in LR_C
    ]
    out += [
        (
            f"gradient_boosting(max_depth={d})",
            HistGradientBoostingClassifier(
                max_depth=d,
                learning_rate=0.05,
                max_iter=300,
                class_weight="balanced",
                random_state=0,
            ),
        )
        for d in GB_DEPTH
    ]
    return [(name, model) for name, model in out if name.split("(")[0] in families]


def _score(model, x: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(x)[:, 1]


def fit_baseline(
    parts: dict[str, pd.DataFrame], with_meta: bool, families: tuple[str, ...] = FAMILIES
) -> dict[str, Any]:
    """Fit every candidate on train, choose on val; return the choice, val AUCs and test scores."""
    builder = FeatureBuilder(with_meta).fit(parts["train"])
    x = {name: builder.transform(frame) for name, frame in parts.items()}
    y = {name: binary_labels(frame) for name, frame in parts.items()}
    val_auc, fitted = {}, {}
    for name, model in candidates(families):
        model.fit(x["train"], y["train"])
        val_auc[name] = float(roc_auc_score(y["val"], _score(model, x["val"])))
        fitted[name] = model
    best = max(val_auc, key=val_auc.get)
    lr_best = max((n for n in val_auc if n.startswith("logistic")), key=val_auc.get)
    lr = fitted[lr_best]
    coef = lr[-1].coef_[0]
    coefficients = dict(
        sorted(
            zip(x["train"].columns, coef.round(4).tolist(), strict=True), key=lambda kv: -abs(kv[1])
        )
    )
    return {
        "features": list(x["train"].columns),
        "val_auc": val_auc,
        "chosen": best,
        "test_scores": _score(fitted[best], x["test"]),
        "logistic_regression": {"chosen_C": lr_best, "standardised_coefficients": coefficients},
    }


def run_baseline(
    meta: pd.DataFrame,
    descriptors: pd.DataFrame,
    cnn_test: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    families: tuple[str, ...] = FAMILIES,
) -> dict[str, Any]:
    """Baselines on the lesion-grouped split, compared with the CNN on the same test images.

    ``cnn_test`` has ``image_id`` and ``log_odds`` (the CNN's test scores).
    """
    table = meta.merge(
        descriptors.drop(columns=["height", "width"], errors="ignore"), on="image_id"
    )
    parts = {s: table[table["split"] == s].reset_index(drop=True) for s in ("train", "val", "test")}
    test = parts["test"].merge(cnn_test[["image_id", "log_odds"]], on="image_id", how="inner")
    parts["test"] = test
    y = binary_labels(test)
    cnn_ci = roc_auc_with_ci(y, test["log_odds"], n_boot=n_boot, seed=seed)
    out: dict[str, Any] = {
        "n": {s: len(f) for s, f in parts.items()},
        "lesion_found_share": {s: float(f["found"].mean()) for s, f in parts.items()},
        "cnn": {"auc": cnn_ci.auc, "low": cnn_ci.low, "high": cnn_ci.high},
        "models": {},
    }
    scores = {}
    for name in FEATURE_SETS:
        fit = fit_baseline(parts, with_meta=name == "abcd_meta", families=families)
        s = fit.pop("test_scores")
        scores[name] = s
        ci = roc_auc_with_ci(y, s, n_boot=n_boot, seed=seed)
        fit["test_auc"] = {"auc": ci.auc, "low": ci.low, "high": ci.high}
        fit["cnn_minus_baseline"] = compare_aucs(y, test["log_odds"], s, n_boot=n_boot, seed=seed)
        out["models"][name] = fit
    out["meta_minus_abcd"] = compare_aucs(
        y, scores["abcd_meta"], scores["abcd"], n_boot=n_boot, seed=seed
    )
    out["descriptor_auc"] = descriptor_aucs(parts, n_boot=n_boot, seed=seed)
    return out


def descriptor_aucs(
    parts: dict[str, pd.DataFrame], *, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Each descriptor's own ROC AUC for malignancy (no fitting): the raw value as the score.

    On ``test`` with a bootstrap 95 % interval, and on ``val``; images where the descriptor
    is undefined (no lesion found) are left out. AUC > 0.5: higher values go with malignancy.
    """
    out: dict[str, Any] = {}
    for col in DESCRIPTOR_COLUMNS:
        entry: dict[str, Any] = {}
        for split in ("val", "test"):
            frame = parts[split]
            if col not in frame:
                continue
            ok = frame[col].notna().to_numpy()
            y = binary_labels(frame)[ok]
            if ok.sum() < 10 or len(np.unique(y)) < 2 or frame[col][ok].nunique() < 2:
                entry[split] = None
                continue
            x = frame[col][ok].astype(float).to_numpy()
            if split == "test":
                ci = roc_auc_with_ci(y, x, n_boot=n_boot, seed=seed)
                entry[split] = {"auc": ci.auc, "low": ci.low, "high": ci.high, "n": int(ok.sum())}
            else:
                entry[split] = {"auc": float(roc_auc_score(y, x)), "n": int(ok.sum())}
        test = entry.get("test")
        entry["direction"] = (
            None
            if not test
            else ("higher_in_malignant" if test["auc"] > 0.5 else "lower_in_malignant")
        )
        out[col] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.evidence.baseline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True)
    p.add_argument("--model-dir", default="models", help="holds test_predictions.csv")
    p.add_argument("--cache", default=str(DEFAULT_CACHE))
    p.add_argument("--jobs", type=int, default=1, help="processes for missing descriptors")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="default: MODEL_DIR/baseline.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    t0 = time.time()
    meta = read_metadata(args.data)
    preds_path = Path(args.model_dir) / "test_predictions.csv"
    if not preds_path.is_file():
        print(f"error: {preds_path} missing; run python -m skinapp.evaluate", file=sys.stderr)
        return 2
    cnn = pd.read_csv(preds_path, dtype={"image_id": str})
    desc = load_descriptors(args.data, list(meta["image_id"]), args.cache, jobs=args.jobs)
    result = run_baseline(meta, desc, cnn, n_boot=args.n_boot, seed=args.seed)
    from skinapp.evidence.report import model_version

    result["model_version"] = model_version(args.model_dir)
    result["method"] = " ".join(__doc__.split("\n\n")[2].split())
    result["command"] = "python -m skinapp.evidence.baseline " + " ".join(argv or sys.argv[1:])
    result["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out or Path(args.model_dir) / "baseline.json")
    from skinapp.model.report import _jsonable

    out.write_text(json.dumps(_jsonable(result), indent=2) + "\n")
    for name, m in result["models"].items():
        d = m["cnn_minus_baseline"]
        print(
            f"{name}: {m['chosen']} test AUC {m['test_auc']['auc']:.3f} vs CNN "
            f"{result['cnn']['auc']:.3f}; diff {d['bootstrap']['diff']:+.3f} "
            f"[{d['bootstrap']['low']:+.3f}, {d['bootstrap']['high']:+.3f}], "
            f"DeLong p={d['delong']['p']:.2g}"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
