"""``python -m skinapp.train``: train the lesion classifier on a folder in the derm layout.

Example (this machine, offline ImageNet weights)::

    python -m skinapp.train --data ../shared/data/derm \\
        --backbone-weights ../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5 \\
        --out models

Then ``python -m skinapp.evaluate --data ../shared/data/derm --model-dir models`` calibrates on
``val``, reports on ``test`` and exports the LiteRT model.

``--folds K`` runs lesion-grouped K-fold cross-validation of the same recipe on the training
split instead (each fold learns from K-1 folds and is early-stopped on the held-out one;
the cached activations are shared) and writes ``folds.json`` to ``--out``: each fold's ROC
AUC on its held-out lesions and on the untouched ``val`` split, with mean and SD. No model
is written; ``test`` is never read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from skinapp.logs import setup_logging
from skinapp.model.train_loop import TrainConfig

SHIPPED_FILES = ("model.keras", "model_config.json", "history.csv")


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(data="")
    p = argparse.ArgumentParser(
        prog="python -m skinapp.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="folder with metadata.csv and images/")
    p.add_argument("--out", default=d.out, help="where model.keras and its files go")
    p.add_argument(
        "--backbone-weights",
        default=d.backbone_weights,
        help="'imagenet' (download), a *_no_top.weights.h5 file, or 'none'",
    )
    p.add_argument("--cache-dir", default=d.cache_dir, help="cached activations and run logs")
    p.add_argument("--cut-layer", default=d.cut_layer)
    p.add_argument("--finetune-from-block", type=int, default=d.finetune_from_block)
    p.add_argument("--views", type=int, default=d.views, help="augmented views per image")
    p.add_argument("--head-epochs", type=int, default=d.head_epochs)
    p.add_argument("--head-lr", type=float, default=d.head_lr)
    p.add_argument("--finetune-epochs", type=int, default=d.finetune_epochs)
    p.add_argument("--finetune-lr", type=float, default=d.finetune_lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--patience", type=int, default=d.patience)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--mixup-alpha",
        type=float,
        default=d.mixup_alpha,
        help="stage 2: Beta(a, a) manifold mixup of cached activations (0 = off)",
    )
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument(
        "--input-size", type=int, default=d.input_size, help="square model input side in pixels"
    )
    p.add_argument(
        "--average-from",
        type=int,
        default=d.average_from,
        help="stage 2: run every epoch and average the weights from this epoch on (SWA; 0 = off)",
    )
    p.add_argument(
        "--color-constancy",
        default=d.color_constancy,
        choices=("none", "gray_world", "shades_of_gray"),
    )
    p.add_argument(
        "--train-datasets",
        nargs="*",
        default=[],
        help="train only on these source datasets (e.g. HAM10000)",
    )
    p.add_argument("--limit", type=int, default=0, help="images per split (smoke tests)")
    p.add_argument(
        "--folds",
        type=int,
        default=0,
        help="K >= 2: lesion-grouped K-fold cross-validation on the training split (writes "
        "folds.json, no model)",
    )
    return p


def cross_validate(cfg, folds: int) -> dict:
    """Train the recipe once per fold; returns what ``folds.json`` holds."""
    import numpy as np

    from skinapp.model.train_loop import train

    results = []
    for fold in range(folds):
        run_dir = train(dataclasses.replace(cfg, folds=folds, fold=fold))
        results.append(json.loads((run_dir / "fold.json").read_text()) | {"run": str(run_dir)})
    summary = {"folds": folds, "per_fold": results, "recipe": dataclasses.asdict(cfg)}
    for key in ("held_out_auc", "val_auc"):
        values = np.array([r[key] for r in results])
        summary[key] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1))}
    summary["note"] = (
        "Folds split the training split by lesion. held_out_auc: the fold's own lesions, "
        "which also chose its epoch (slightly optimistic); val_auc: the same weights on the "
        "untouched val split. The test split is not used."
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    weights = args.backbone_weights
    if weights not in ("imagenet", "none") and not Path(weights).is_file():
        print(f"error: backbone weights not found: {weights}", file=sys.stderr)
        return 2
    if args.folds == 1 or args.folds < 0:
        print(f"error: --folds must be 0 (off) or at least 2, not {args.folds}", file=sys.stderr)
        return 2
    cfg = TrainConfig(
        data=args.data,
        out=args.out,
        backbone_weights=weights,
        cache_dir=args.cache_dir,
        cut_layer=args.cut_layer,
        finetune_from_block=args.finetune_from_block,
        views=args.views,
        head_epochs=args.head_epochs,
        head_lr=args.head_lr,
        finetune_epochs=args.finetune_epochs,
        finetune_lr=args.finetune_lr,
        batch_size=args.batch_size,
        dropout=args.dropout,
        patience=args.patience,
        seed=args.seed,
        mixup_alpha=args.mixup_alpha,
        label_smoothing=args.label_smoothing,
        average_from=args.average_from,
        input_size=args.input_size,
        color_constancy=args.color_constancy,
        train_datasets=tuple(args.train_datasets),
        limit=args.limit,
    )
    from skinapp.model.train_loop import train

    out = Path(args.out)
    if args.folds:
        try:
            summary = cross_validate(cfg, args.folds)
        except (FileNotFoundError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        out.mkdir(parents=True, exist_ok=True)
        (out / "folds.json").write_text(json.dumps(summary, indent=2) + "\n")
        auc, val = summary["held_out_auc"], summary["val_auc"]
        print(
            f"{args.folds}-fold ROC AUC {auc['mean']:.4f} ± {auc['sd']:.4f} on held-out lesions, "
            f"{val['mean']:.4f} ± {val['sd']:.4f} on val; written to {out / 'folds.json'}"
        )
        return 0
    try:
        run_dir = train(cfg)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_FILES:
        shutil.copy2(run_dir / name, out / name)
    print(f"model written to {out / 'model.keras'} (run log in {run_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
