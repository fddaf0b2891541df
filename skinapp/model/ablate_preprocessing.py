"""``python -m skinapp.model.ablate_preprocessing DATA [OUT]``: what should the model see?

A cheap proxy measured on the validation split, used to decide whether colour constancy or hair
removal go before the classifier: frozen ImageNet MobileNetV2 features (global average pooling
of ``block_15_add`` and ``block_16_project_BN``) + a class-balanced logistic regression, fitted
on 3,000 training images and scored on all validation images, once per preprocessing variant.
The AUC difference to "none" gets a paired bootstrap 95% interval. Writes
``models/preprocessing_ablation.json`` (read by the model card).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from skinapp.io import read_image
from skinapp.model.data import image_path
from skinapp.preprocess.params import ColorConstancyParams, ResizeParams
from skinapp.preprocess.transforms import apply_color_constancy, resize
from skinapp.vision.hair import HairRemovalParams, remove_hair

WEIGHTS = "../shared/pretrained/mobilenet_v2_1.0_224_no_top.weights.h5"
VARIANTS = ("none", "cc", "hair")
FEATURE_LAYERS = ("block_16_project_BN", "block_15_add")
N_TRAIN, N_BOOT = 3000, 300


def prepare(image: np.ndarray, variant: str) -> np.ndarray:
    """The model input under one preprocessing variant."""
    if "cc" in variant:
        image = apply_color_constancy(image, ColorConstancyParams(method="shades_of_gray", p=6))
    if "hair" in variant:
        image = remove_hair(image, HairRemovalParams()).image
    return resize(image, ResizeParams(size=224, mode="stretch"))


def feature_model(weights: str):
    import keras

    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(224, 224, 3)
    )
    base.load_weights(weights)
    pooled = [
        keras.layers.GlobalAveragePooling2D()(base.get_layer(n).output) for n in FEATURE_LAYERS
    ]
    return keras.Model(base.input, pooled)


def features(model, data: str, frame: pd.DataFrame, variant: str) -> np.ndarray:
    images = np.stack(
        [prepare(read_image(image_path(data, i)), variant) for i in frame["image_id"]]
    )
    return np.concatenate(model.predict(images / 127.5 - 1.0, batch_size=64, verbose=0), 1)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    data = args[0] if args else "../shared/data/derm"
    out = args[1] if len(args) > 1 else "models/preprocessing_ablation.json"
    meta = pd.read_csv(f"{data}/metadata.csv")
    train = meta[meta["split"] == "train"].sample(N_TRAIN, random_state=0)
    val = meta[meta["split"] == "val"]
    y_train = (train["label"] == "malignant").to_numpy()
    y_val = (val["label"] == "malignant").to_numpy()
    model = feature_model(WEIGHTS)
    scores = {}
    for variant in VARIANTS:
        x_train, x_val = features(model, data, train, variant), features(model, data, val, variant)
        scaler = StandardScaler().fit(x_train)
        clf = LogisticRegression(C=0.05, max_iter=3000, class_weight="balanced")
        clf.fit(scaler.transform(x_train), y_train)
        scores[variant] = clf.predict_proba(scaler.transform(x_val))[:, 1]
    idx = np.random.default_rng(0).integers(0, len(y_val), (N_BOOT, len(y_val)))
    result = {}
    for variant, p in scores.items():
        deltas = [
            roc_auc_score(y_val[i], p[i]) - roc_auc_score(y_val[i], scores["none"][i]) for i in idx
        ]
        auc = roc_auc_score(y_val, p)
        result[variant] = {
            "val_auc": round(auc, 4),
            "delta_vs_none": round(auc - roc_auc_score(y_val, scores["none"]), 4),
            "delta_ci95": [round(float(np.percentile(deltas, q)), 4) for q in (2.5, 97.5)],
        }
    result["method"] = __doc__.split("\n\n")[1].replace("\n", " ")
    with open(out, "w") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
