"""``python -m skinapp.model.ensemble``: several trained classifiers as one model.

    python -m skinapp.model.ensemble runs/model_v1 runs/model_v3 --out models

Averaging the diagnosis logits of independently trained members is the cheapest reliable gain
on this data (measured on ``val``: see the model card). The ensemble keeps the single-model
interface, so export, serving, heat maps and evaluation need no special case:

- ``logits``: ``(N, C)`` mean of the members' logits,
- ``features``: ``(N, 7, 7, 1280 * M)`` the members' last feature maps side by side.

Because ``mean_m(pool(F_m) @ W_m + b_m) = pool([F_1 .. F_M]) @ vstack(W_m / M) + mean_m(b_m)``,
the stacked kernel from :func:`head_kernel` gives the exact Grad-CAM of the averaged head.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

MEMBER_PREFIX = "member_"


def build_ensemble(members: list[keras.Model]) -> keras.Model:
    """One model over ``members`` (classifiers from :func:`build_classifier`, same classes).

    Returns
    -------
    keras.Model
        Input ``(N, S, S, 3)`` float32 pixels in [0, 255]; outputs ``{"logits": (N, C),
        "features": (N, h, w, F * M)}``.
    """
    if len(members) < 2:
        raise ValueError(f"An ensemble needs at least two members. Received: {len(members)}")
    shape = members[0].input.shape[1:]
    inputs = keras.Input(shape, name="pixels")
    logits, features = [], []
    for i, member in enumerate(members):
        # A fresh functional wrapper gives each member a unique name inside the ensemble.
        renamed = keras.Model(member.input, member.output, name=f"{MEMBER_PREFIX}{i}")
        out = renamed(inputs)
        logits.append(out["logits"])
        features.append(out["features"])
    mean_logits = keras.layers.Average(name="logits")(logits)
    stacked = keras.layers.Concatenate(axis=-1, name="features")(features)
    return keras.Model(inputs, {"logits": mean_logits, "features": stacked}, name="ensemble")


def members_of(model: keras.Model) -> list[keras.Model]:
    """The member classifiers of an ensemble, or ``[model]`` for a single classifier."""
    found = [layer for layer in model.layers if layer.name.startswith(MEMBER_PREFIX)]
    return found or [model]


def head_kernel(model: keras.Model) -> np.ndarray:
    """Dense kernel ``(F * M, C)`` of the (averaged) head, for class-activation maps."""
    members = members_of(model)
    kernels = [keras.ops.convert_to_numpy(m.get_layer("predictions").kernel) for m in members]
    return np.concatenate(kernels, axis=0) / len(kernels)


def merged_config(configs: list[dict], member_dirs: list[str]) -> dict:
    """``model_config.json`` of the ensemble; members must share classes and input spec."""
    first = configs[0]
    for cfg, where in zip(configs[1:], member_dirs[1:], strict=True):
        for key in ("classes", "malignant_classes", "input"):
            if cfg.get(key) != first.get(key):
                raise ValueError(f"{where}: `{key}` differs from {member_dirs[0]}")
    return {
        "classes": first["classes"],
        "malignant_classes": first["malignant_classes"],
        "input": first["input"],
        "ensemble": [
            {
                "source": where,
                "train_config": cfg.get("train_config"),
                "created": cfg.get("created"),
            }
            for cfg, where in zip(configs, member_dirs, strict=True)
        ],
        "train_config": first.get("train_config"),
        "keras_version": keras.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.model.ensemble",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("members", nargs="+", help="model folders written by skinapp.train")
    p.add_argument("--out", default="models", help="folder for model.keras of the ensemble")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from skinapp.model.export import load_keras_model

    dirs = [Path(d) for d in args.members]
    try:
        models = [load_keras_model(d / "model.keras") for d in dirs]
        configs = [json.loads((d / "model_config.json").read_text()) for d in dirs]
        config = merged_config(configs, [str(d) for d in dirs])
        ensemble = build_ensemble(models)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ensemble.trainable = False
    ensemble.save(out / "model.keras")
    (out / "model_config.json").write_text(json.dumps(config, indent=2))
    histories = []
    for i, d in enumerate(dirs):
        if (d / "history.csv").is_file():
            frame = pd.read_csv(d / "history.csv")
            frame.insert(0, "member", i)
            histories.append(frame)
    if histories:
        pd.concat(histories, ignore_index=True).to_csv(out / "history.csv", index=False)
    elif (out / "history.csv").exists() and out not in dirs:
        (out / "history.csv").unlink()
    print(f"ensemble of {len(dirs)} written to {out / 'model.keras'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
