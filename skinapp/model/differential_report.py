"""Fit the differential maps on ``val`` and measure them on ``test``: ``differential.json``.

Run by ``python -m skinapp.evaluate --differential`` (see :mod:`skinapp.evaluate`). For each
answer the app or ``predict`` can give (``tta``: the mean of the eight flips/quarter turns,
the app's answer; ``single_view``: ``predict``'s default), it

1. runs the serving classifier over the ``val`` and ``test`` photos (eight views each, one
   batch per photo group) and computes that answer's calibrated ``p_malignant`` and grade
   exactly as :class:`skinapp.serving.Classifier` does;
2. chooses vector or matrix scaling by the lesion-grouped 5-fold cross-validated log-loss on
   ``val`` (so the extra parameters of matrix scaling must earn their place), refits the
   winner on all of ``val`` and chooses the top-call offsets there
   (:func:`skinapp.model.differential.fit_differential`);
3. measures on ``test`` once: per-class one-vs-rest ROC AUC, recall and precision, the 7×7
   confusion matrix, the balanced multiclass accuracy (ISIC 2018 Task 3), melanoma-vs-rest
   and malignant-vs-benign AUC, the log-loss, and the same for the plain arg-max of the
   uncalibrated softmax (what the app showed before).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from skinapp.model.differential import (
    ANSWERS,
    DIFFERENTIAL_FILE,
    METHODS,
    DifferentialCalibration,
    balanced_accuracy,
    fit_differential,
    fit_scaling,
    log_softmax,
)
from skinapp.model.grading import assign_grade

logger = logging.getLogger(__name__)

__all__ = [
    "answer_inputs",
    "differential_metrics",
    "fit_answer",
    "main",
    "split_view_logits",
    "write_differential",
]

#: Folds of the method choice on ``val``.
N_FOLDS = 5


def answer_inputs(classifier, logits: np.ndarray, answer: str) -> dict[str, np.ndarray]:
    """The inputs of one answer from ``(N, 8, C)`` view logits, as the classifier computes them.

    Returns ``log_probs`` (N, C), ``p_malignant`` (N,) and ``grade`` (N,).
    """
    n, v, c = logits.shape
    odds = classifier.log_odds(logits.reshape(n * v, c)).reshape(n, v)
    if answer == "tta" and classifier.tta_calibration is not None:
        calibration, thresholds = classifier.tta_calibration, classifier.tta_thresholds
        mean_odds, log_probs = odds.mean(1), log_softmax(logits).mean(1)
    else:
        calibration, thresholds = classifier.calibration, classifier.thresholds
        mean_odds, log_probs = odds[:, 0], log_softmax(logits[:, 0])
    p = np.asarray(calibration.apply(mean_odds.astype(np.float64)))
    return {"log_probs": log_probs, "p_malignant": p, "grade": assign_grade(p, thresholds)}


def split_view_logits(classifier, data_dir: Path, meta, batch: int = 8) -> dict[str, np.ndarray]:
    """``logits`` (N, 8, C), ``y`` and ``groups`` of every row of ``meta`` (eight views each)."""
    from skinapp.model.data import load_model_inputs
    from skinapp.trust.tta import N_VIEWS, tta_views

    out = []
    ids = list(meta["image_id"])
    for start in range(0, len(ids), 64):
        images = load_model_inputs(data_dir, ids[start : start + 64], classifier.input_spec)
        for s in range(0, len(images), batch):
            chunk = images[s : s + batch]
            logits, _ = classifier.run(np.concatenate([tta_views(x) for x in chunk]))
            out.append(logits.reshape(len(chunk), N_VIEWS, -1))
    classes = list(classifier.classes)
    return {
        "logits": np.concatenate(out),
        "y": np.array([classes.index(d) for d in meta["dx"]]),
        "groups": meta["lesion_id"].to_numpy() if "lesion_id" in meta else np.array(ids),
    }


def _log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


def _cv_log_loss(inputs, y, groups, classes, malignant, method, seed) -> float:
    """Lesion-grouped cross-validated log-loss of a scaling method on one split (None when a
    class has too few lesions to cross-validate)."""
    counts = np.bincount(y, minlength=len(classes))
    folds = min(N_FOLDS, int(counts[counts > 0].min()))
    if folds < 2:
        return None
    cv = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    out = np.zeros((len(y), len(classes)))
    z, p = inputs["log_probs"], inputs["p_malignant"]
    for train, held in cv.split(z, y, groups):
        weight, bias = fit_scaling(z[train], y[train], method=method)
        dmap = DifferentialCalibration(
            tuple(classes), tuple(malignant), weight, bias, np.zeros(len(classes)), method
        )
        out[held] = dmap.probabilities(z[held], p[held])
    return _log_loss(out, y)


#: Bootstrap resamples of the confidence intervals.
N_BOOT = 1000


def _bootstrap_ci(y, probs, top, c, k_mel, n_boot, seed) -> dict[str, list[float] | None]:
    """95% percentile bootstrap CIs (images resampled) of the balanced accuracy and of the
    melanoma-vs-rest AUC."""
    rng = np.random.default_rng(seed)
    bacc, auc = [], []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        bacc.append(balanced_accuracy(y[idx], top[idx], c))
        if k_mel is not None and 0 < np.sum(y[idx] == k_mel) < len(idx):
            auc.append(roc_auc_score(y[idx] == k_mel, probs[idx, k_mel]))

    def ci(values):
        return (
            [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]
            if values
            else None
        )

    return {"balanced_accuracy_ci95": ci(bacc), "melanoma_vs_rest_auc_ci95": ci(auc)}


def differential_metrics(
    y: np.ndarray,
    probs: np.ndarray,
    top: np.ndarray,
    classes: tuple[str, ...],
    malignant: tuple[str, ...],
    *,
    n_boot: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Seven-class metrics of calibrated ``probs`` and top calls ``top`` against labels ``y``
    (with ``n_boot`` > 0: bootstrap CIs of the balanced accuracy and the melanoma AUC)."""
    c = len(classes)
    mask = np.array([k in malignant for k in classes])
    per_class = {}
    for k, code in enumerate(classes):
        is_k = y == k
        called = top == k
        per_class[code] = {
            "n": int(is_k.sum()),
            "roc_auc_ovr": float(roc_auc_score(is_k, probs[:, k]))
            if 0 < is_k.sum() < len(y)
            else None,
            "recall": float(np.mean(called[is_k])) if is_k.any() else None,
            "precision": float(np.mean(is_k[called])) if called.any() else None,
        }
    y_mal = mask[y]
    k_mel = classes.index("mel") if "mel" in classes else None
    cis = _bootstrap_ci(y, probs, top, c, k_mel, n_boot, seed) if n_boot else {}
    return {
        **cis,
        "n": len(y),
        "balanced_accuracy": balanced_accuracy(y, top, c),
        "accuracy": float(np.mean(top == y)),
        "log_loss": _log_loss(probs, y),
        "melanoma_vs_rest_auc": per_class.get("mel", {}).get("roc_auc_ovr"),
        "malignant_vs_benign_auc": (
            float(roc_auc_score(y_mal, probs[:, mask].sum(1))) if 0 < y_mal.sum() < len(y) else None
        ),
        "per_class": per_class,
        "confusion": {
            "labels": list(classes),
            "rows": "true diagnosis",
            "columns": "top call",
            "matrix": confusion_matrix(y, top, labels=list(range(c))).tolist(),
        },
    }


def fit_answer(
    classifier, val: dict, test: dict, answer: str, seed: int = 0
) -> tuple[DifferentialCalibration, dict[str, Any]]:
    """Fit one answer's map on ``val`` (method by CV log-loss) and measure it on ``test``.

    ``val`` and ``test`` hold ``logits`` (N, 8, C), ``y`` (N,) and ``groups`` (N,) lesion ids.
    """
    classes, malignant = (
        classifier.classes,
        tuple(c for c, m in zip(classifier.classes, classifier.malignant_mask, strict=True) if m),
    )
    vin = answer_inputs(classifier, val["logits"], answer)
    tin = answer_inputs(classifier, test["logits"], answer)
    cv_loss = {
        m: _cv_log_loss(vin, val["y"], val["groups"], classes, malignant, m, seed) for m in METHODS
    }
    scored = {m: v for m, v in cv_loss.items() if v is not None}
    method = min(scored, key=scored.get) if scored else "vector"
    dmap = fit_differential(
        vin["log_probs"],
        val["y"],
        vin["p_malignant"],
        vin["grade"],
        classes=classes,
        malignant=malignant,
        method=method,
        model_version=classifier.version,
    )

    def measure(inputs, y, n_boot=0):
        probs = dmap.probabilities(inputs["log_probs"], inputs["p_malignant"])
        return differential_metrics(
            y,
            probs,
            dmap.top_index(probs, inputs["grade"]),
            classes,
            malignant,
            n_boot=n_boot,
            seed=seed,
        )

    raw = np.exp(tin["log_probs"])
    report = {
        "calibration": dmap.to_dict(),
        "method_choice": {
            "rule": f"lowest lesion-grouped {N_FOLDS}-fold cross-validated log-loss on val "
            "(vector scaling when a class is too rare to cross-validate)",
            "cv_log_loss": cv_loss,
            "chosen": method,
        },
        "val": measure(vin, val["y"]),
        "test": measure(tin, test["y"], N_BOOT),
        "test_softmax_argmax": differential_metrics(
            test["y"], raw, raw.argmax(1), classes, malignant
        ),
    }
    return dmap, report


def write_differential(
    model_dir: str | Path, val: dict, test: dict, classifier, *, command: str = "", seed: int = 0
) -> dict[str, Any]:
    """Fit and measure both answers; write ``differential.json``; return its content."""
    out: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "model_version": classifier.version,
        "command": command,
        "n_boot": N_BOOT,
        "answers": {
            "tta": "the app's answer: mean of the 8 flips/quarter turns (predict --tta)",
            "single_view": "one pass of the photo as it is (predict's default)",
        },
        "definitions": {
            "balanced_accuracy": "mean recall over the seven diagnoses (ISIC 2018 Task 3 metric)",
            "probabilities": "calibrated on val; the malignant classes sum to p_malignant",
            "top_call": "argmax of log p + per-class offsets chosen on val for balanced "
            "accuracy; never a malignant class in risk grade 1",
        },
    }
    for answer in ANSWERS:
        _, out[answer] = fit_answer(classifier, val, test, answer, seed)
        t = out[answer]["test"]
        logger.info(
            "%s differential on test: balanced accuracy %.3f, melanoma AUC %.3f",
            answer,
            t["balanced_accuracy"],
            t["melanoma_vs_rest_auc"],
        )
    Path(model_dir, DIFFERENTIAL_FILE).write_text(json.dumps(out, indent=1) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m skinapp.model.differential_report --data D --model-dir models``."""
    import argparse
    import sys

    from skinapp.errors import SkinappError
    from skinapp.model.data import read_metadata
    from skinapp.serving import Classifier

    parser = argparse.ArgumentParser(
        prog="python -m skinapp.model.differential_report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="folder with metadata.csv and images/")
    parser.add_argument("--model-dir", default="models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        meta = read_metadata(Path(args.data))
        classifier = Classifier(args.model_dir)
        splits = {
            name: split_view_logits(
                classifier, Path(args.data), meta[meta["split"] == name].reset_index(drop=True)
            )
            for name in ("val", "test")
        }
    except (FileNotFoundError, ValueError, SkinappError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    command = "python -m skinapp.model.differential_report " + " ".join(argv or sys.argv[1:])
    report = write_differential(
        args.model_dir, splits["val"], splits["test"], classifier, command=command, seed=args.seed
    )
    t = report["tta"]["test"]
    print(
        f"differential (8-view TTA, test): balanced accuracy {t['balanced_accuracy']:.3f}, "
        f"melanoma-vs-rest AUC {t['melanoma_vs_rest_auc']:.3f}, malignant-vs-benign AUC "
        f"{t['malignant_vs_benign_auc']:.3f}; written to {Path(args.model_dir) / DIFFERENTIAL_FILE}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
