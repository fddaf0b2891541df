"""``python -m skinapp.evaluate``: export, calibrate on ``val``, measure on ``test``.

    python -m skinapp.evaluate --data ../shared/data/derm --model-dir models

1. Exports ``model.keras`` to ``model.tflite`` (+ the head weights for heat maps) and checks
   that LiteRT and Keras agree on the bundled sample images.
2. Runs the serving classifier (the same code the app uses) over the ``val`` and ``test``
   splits, fits temperature scaling and the grade thresholds on ``val`` only.
3. Writes the metrics files the dashboard reads, ``test_predictions.csv`` and ``MODEL_CARD.md``.

``--trust`` also fits the OOD detector and the TTA calibration (``trust.json``);
``--differential`` (after them: it needs the TTA calibration) fits the differential diagnosis
on ``val`` and measures it on ``test`` for the app's 8-view TTA answer and for one view
(``differential.json``; :mod:`skinapp.model.differential_report`, which also runs alone).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from skinapp.logs import setup_logging

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="folder with metadata.csv and images/")
    p.add_argument("--model-dir", default="models", help="folder holding model.keras")
    p.add_argument("--calibration", default="platt", choices=("temperature", "platt"))
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples for CIs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--no-export",
        action="store_true",
        help="reuse the existing model.tflite (its parity with model.keras is still measured)",
    )
    p.add_argument(
        "--no-evidence",
        action="store_true",
        help="skip evidence.json and the gallery (skinapp.evidence.report)",
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="also fit the OOD detector and TTA calibration and measure the quality checks "
        "(writes trust.json, ood.npz and ood_loso.json; skinapp.measure_trust, "
        "skinapp.measure_loso)",
    )
    p.add_argument(
        "--differential",
        action="store_true",
        help="also fit the seven-class differential diagnosis on val and measure it on test "
        "(writes differential.json; skinapp.model.differential_report)",
    )
    return p


def export(model_dir: Path) -> dict:
    """Write ``model.tflite`` and ``head.npz``; return the Keras/LiteRT parity on the samples."""
    from skinapp.model.ensemble import head_kernel
    from skinapp.model.export import export_litert, load_keras_model

    model = load_keras_model(model_dir / "model.keras")
    export_litert(model, model_dir / "model.tflite")
    np.savez(model_dir / "head.npz", kernel=head_kernel(model))
    return litert_parity(model_dir, model)


def litert_parity(model_dir: Path, model=None) -> dict:
    """Largest Keras vs LiteRT differences (probability, logits) on the bundled samples."""
    from skinapp.io import read_image
    from skinapp.model.export import keras_logits, load_keras_model
    from skinapp.model.preprocessing import ModelInputSpec, prepare_model_input
    from skinapp.serving import Classifier

    model = model or load_keras_model(model_dir / "model.keras")
    spec = ModelInputSpec.from_dict(
        json.loads((model_dir / "model_config.json").read_text())["input"]
    )
    samples = sorted(SAMPLES_DIR.glob("*.jpg"))
    batch = np.stack([prepare_model_input(read_image(p), spec) for p in samples])
    lite = Classifier(model_dir, calibrated=False)
    lite_logits, _ = lite.run(batch)
    ref_logits = keras_logits(model, batch)
    p_lite = 1 / (1 + np.exp(-lite.log_odds(lite_logits)))
    p_ref = 1 / (1 + np.exp(-lite.log_odds(ref_logits)))
    return {
        "n_images": len(samples),
        "max_abs_diff_probability": float(np.abs(p_lite - p_ref).max()),
        "max_abs_diff_logits": float(np.abs(lite_logits - ref_logits).max()),
    }


def split_log_odds(classifier, data_dir: Path, meta, batch_size: int = 64) -> np.ndarray:
    """Uncalibrated malignant log-odds for every row of ``meta`` through the serving path."""
    from skinapp.model.data import load_model_inputs

    images = load_model_inputs(data_dir, list(meta["image_id"]), classifier.input_spec)
    out = []
    for s in range(0, len(images), batch_size):
        logits, _ = classifier.run(images[s : s + batch_size])
        out.append(classifier.log_odds(logits))
    return np.concatenate(out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from skinapp.errors import SkinappError
    from skinapp.model.card import format_auc, format_number, write_model_card
    from skinapp.model.data import binary_labels, read_metadata
    from skinapp.model.report import write_evaluation
    from skinapp.serving import Classifier

    model_dir, data_dir = Path(args.model_dir), Path(args.data)
    if not (model_dir / "model.keras").is_file():
        print(
            f"error: {model_dir / 'model.keras'} not found; run skinapp.train first",
            file=sys.stderr,
        )
        return 2
    try:
        meta = read_metadata(data_dir)
        t0 = time.time()
        parity = litert_parity(model_dir) if args.no_export else export(model_dir)
        classifier = Classifier(model_dir, calibrated=False)
        parts = {
            name: meta[meta["split"] == name].reset_index(drop=True) for name in ("val", "test")
        }
        scores = {name: split_log_odds(classifier, data_dir, part) for name, part in parts.items()}
    except (FileNotFoundError, ValueError, SkinappError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    config = json.loads((model_dir / "model_config.json").read_text())
    extra = {
        "model_version": classifier.version,
        "model_created": config.get("created"),
        "litert_parity": parity,
        "evaluate_command": "python -m skinapp.evaluate " + " ".join(argv or sys.argv[1:]),
        "evaluate_seconds": round(time.time() - t0, 1),
    }
    metrics = write_evaluation(
        model_dir,
        val=(binary_labels(parts["val"]), scores["val"], parts["val"]["dataset"]),
        test=(binary_labels(parts["test"]), scores["test"], parts["test"]["dataset"]),
        calibration_method=args.calibration,
        n_boot=args.n_boot,
        seed=args.seed,
        extra=extra,
    )
    save_test_predictions(model_dir, parts["test"], scores["test"])
    save_sample_reference(model_dir)
    if not args.no_evidence:
        from skinapp.evidence.report import write_evidence

        write_evidence(
            model_dir, data_dir=data_dir, classifier=classifier, n_boot=args.n_boot, seed=args.seed
        )
    write_model_card(model_dir, metrics, config)
    test = metrics["test"]
    print(
        f"test ROC AUC {format_auc(test['roc_auc'])}, balanced accuracy "
        f"{format_number(test['threshold_metrics']['balanced_accuracy'])}, "
        f"ECE {format_number(test['ece'])}; files in {model_dir}"
    )
    if args.trust:
        from skinapp.measure_trust import run_trust

        run_trust(data_dir, model_dir, seed=args.seed, command=extra["evaluate_command"])
        from skinapp.measure_loso import run_loso

        run_loso(data_dir, model_dir, seed=args.seed)  # ood.npz, ood_loso.json, trust.json "ood"
        write_model_card(model_dir, metrics, config)  # again: the card quotes trust.json
    if args.differential:
        from skinapp.model.differential_report import split_view_logits, write_differential

        served = Classifier(model_dir)  # calibrated, with the TTA map just written
        splits = {name: split_view_logits(served, data_dir, part) for name, part in parts.items()}
        report = write_differential(
            model_dir,
            splits["val"],
            splits["test"],
            served,
            command=extra["evaluate_command"],
            seed=args.seed,
        )
        write_model_card(model_dir, metrics, config)  # again: the card quotes differential.json
        t = report["tta"]["test"]
        print(
            f"differential (8-view TTA, test): balanced accuracy "
            f"{format_number(t['balanced_accuracy'])}, melanoma-vs-rest AUC "
            f"{format_number(t['melanoma_vs_rest_auc'])}"
        )
    return 0


def save_sample_reference(model_dir: Path) -> None:
    """``reference_samples.json``: the shipped model's outputs on the bundled samples.

    Tests compare a fresh load against it, so a changed model or preprocessing is noticed.
    """
    from skinapp.io import read_image
    from skinapp.serving import Classifier

    classifier = Classifier(model_dir)
    reference = {}
    for path in sorted(SAMPLES_DIR.glob("*.jpg")):
        pred = classifier.predict(read_image(path))
        reference[path.name] = {
            "log_odds": round(pred.log_odds, 6),
            "p_malignant": round(pred.p_malignant, 6),
            "grade": pred.grade,
        }
    (model_dir / "reference_samples.json").write_text(json.dumps(reference, indent=2))


def save_test_predictions(model_dir: Path, test_meta, log_odds: np.ndarray) -> None:
    """Per-image test results (no images), for the dashboard and per-diagnosis analyses."""
    from skinapp.model.grading import assign_grade
    from skinapp.model.report import load_calibration

    calibration, thresholds = load_calibration(model_dir)
    p = np.asarray(calibration.apply(log_odds))
    cols = [
        c
        for c in (
            "image_id",
            "lesion_id",
            "dataset",
            "dx",
            "dx_type",
            "label",
            "age",
            "sex",
            "localization",
        )
        if c in test_meta.columns
    ]
    frame = test_meta[cols].copy()
    frame["log_odds"] = np.round(log_odds, 5)
    frame["p_malignant"] = np.round(p, 5)
    frame["grade"] = assign_grade(p, thresholds)
    frame.to_csv(model_dir / "test_predictions.csv", index=False)


if __name__ == "__main__":
    sys.exit(main())
