"""``python -m skinapp.compare RUN [RUN ...]``: choose ensemble members on ``val``.

For every trained run folder (``model.keras`` + ``model_config.json``, as ``skinapp.train``
writes it) this prints the validation ROC AUC of a single view and of the app's 8-view
test-time augmentation, then the same for the mean log-odds of every combination of up to
``--max-members`` runs, best first. Only the ``val`` split is read: the test split stays
untouched until the chosen ensemble is evaluated. A run without ``model.tflite`` is exported
first, so the numbers come from the serving path. It drives the whole served model, so it
lives beside :mod:`skinapp.evaluate`; ``python -m skinapp.model.compare`` still works.

Example::

    python -m skinapp.compare runs/model_v1 runs/model_v2 runs/model_swa16 \\
        --data ../shared/data/derm --out runs/compare.csv
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from skinapp.logs import setup_logging
from skinapp.trust.tta import N_VIEWS, run_views


def view_log_odds(classifier, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """``(8, N)`` uncalibrated malignant log-odds of each dihedral view (view 0 = as is)."""
    step = max(1, batch_size // N_VIEWS)
    parts = [run_views(classifier, images[s : s + step])[0] for s in range(0, len(images), step)]
    return np.concatenate(parts).T


def combination_table(log_odds: dict[str, np.ndarray], y: np.ndarray, max_members: int):
    """ROC AUC of every combination of runs, one view and 8-view mean, best TTA first.

    Parameters
    ----------
    log_odds : dict of name -> (8, N) ndarray
        Per-view log-odds of each run on the same images.
    y : (N,) ndarray of {0, 1}
    max_members : int
        Largest combination size.
    """
    rows = []
    names = list(log_odds)
    for size in range(1, min(max_members, len(names)) + 1):
        for combo in itertools.combinations(names, size):
            views = np.mean([log_odds[n] for n in combo], axis=0)
            rows.append(
                {
                    "members": "+".join(combo),
                    "n_members": size,
                    "auc_single_view": roc_auc_score(y, views[0]),
                    "auc_tta": roc_auc_score(y, views.mean(axis=0)),
                }
            )
    table = pd.DataFrame(rows).sort_values("auc_tta", ascending=False, kind="stable")
    return table.reset_index(drop=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.compare",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("runs", nargs="+", help="run folders with model.keras and model_config.json")
    p.add_argument("--data", required=True, help="folder with metadata.csv and images/")
    p.add_argument("--max-members", type=int, default=3)
    p.add_argument("--out", help="also write the table as CSV here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from skinapp.errors import SkinappError
    from skinapp.evaluate import export
    from skinapp.model.data import binary_labels, load_model_inputs, read_metadata
    from skinapp.serving import Classifier

    try:
        meta = read_metadata(args.data)
        val = meta[meta["split"] == "val"].reset_index(drop=True)
        log_odds, images = {}, {}
        runs = [Path(r) for r in dict.fromkeys(args.runs)]
        # Short names in the table unless two runs share a folder name.
        unique = len({r.name for r in runs}) == len(runs)
        for run in runs:
            if not (run / "model.tflite").is_file():
                export(run)
            classifier = Classifier(run, calibrated=False)
            spec = classifier.input_spec
            if spec not in images:
                images[spec] = load_model_inputs(args.data, list(val["image_id"]), spec)
            log_odds[run.name if unique else str(run)] = view_log_odds(classifier, images[spec])
    except (OSError, ValueError, SkinappError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table = combination_table(log_odds, binary_labels(val), args.max_members)
    print(f"validation split: {len(val)} images, {int(binary_labels(val).sum())} malignant")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
