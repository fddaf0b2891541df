"""Test doubles shared by the app tests."""

from __future__ import annotations

import numpy as np

from skinapp.model.differential import Differential
from skinapp.serving import Prediction


def benign_differential() -> Differential:
    """A differential led by naevus (nv 0.75), the malignant classes summing to 0.08."""
    return Differential(
        probs={
            "akiec": 0.01,
            "bcc": 0.02,
            "bkl": 0.12,
            "df": 0.03,
            "mel": 0.05,
            "nv": 0.75,
            "vasc": 0.02,
        },
        top="nv",
        malignant=("akiec", "bcc", "mel"),
    )


class FakeClassifier:
    """Stands in for serving.Classifier: a fixed prediction, and a log of its inputs."""

    version = "fake0000"
    photometric = None  # no learned quality checks: the fixed rules apply

    def __init__(self, p: float = 0.7, grade: int = 3, differential=None, n_views: int = 1):
        self.p, self.grade, self.inputs = p, grade, []
        self.differential, self.n_views = differential, n_views

    def predict(self, image: np.ndarray, *, tta: bool = False) -> Prediction:
        self.inputs.append(image)
        heat = np.zeros((7, 7), np.float32)
        heat[3, 3] = 1.0
        return Prediction(
            p_malignant=self.p,
            log_odds=0.8,
            label="malignant" if self.p >= 0.5 else "benign",
            grade=self.grade,
            class_probs={"mel": self.p, "nv": 1 - self.p},
            heatmap=heat,
            n_views=self.n_views,
            differential=self.differential,
        )
