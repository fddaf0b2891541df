import numpy as np

from skinapp.model.scores import malignant_direction, malignant_log_odds


def test_two_class_log_odds_is_logit_difference():
    logits = np.array([[0.3, 2.0], [1.0, -1.0]])
    out = malignant_log_odds(logits, np.array([False, True]))
    np.testing.assert_allclose(out, logits[:, 1] - logits[:, 0])


def test_log_odds_matches_softmax_sums():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)) * 3
    mask = np.array([True, False, True, False])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = np.log(p[:, mask].sum(1) / p[:, ~mask].sum(1))
    np.testing.assert_allclose(malignant_log_odds(logits, mask), expected, rtol=1e-10)


def test_direction_is_the_gradient_of_log_odds():
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(6, 3)), rng.normal(size=3)
    f = rng.normal(size=6)
    mask = np.array([True, False, False])

    def log_odds(feat):
        return malignant_log_odds((feat @ w + b)[None], mask)[0]

    z = f @ w + b
    probs = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    eps = 1e-6
    numeric = np.array(
        [(log_odds(f + eps * e) - log_odds(f - eps * e)) / (2 * eps) for e in np.eye(6)]
    )
    np.testing.assert_allclose(malignant_direction(probs, w, mask), numeric, rtol=1e-5)
