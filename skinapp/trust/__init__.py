"""Trust the answer: image-quality checks, an out-of-distribution score and TTA uncertainty.

- :mod:`skinapp.trust.quality`: pure numpy checks of one photo (focus, exposure, lesion cut
  by the border, lesion too small, colour cast) with user-actionable messages.
- :mod:`skinapp.trust.ood`: how far the model's own pooled features are from the training
  set (Mahalanobis distance under a probabilistic-PCA covariance), saved in ``models/ood.npz``.
- :mod:`skinapp.trust.tta`: the eight flips/quarter turns of the model input, and the
  spread of the answer over them.
- :mod:`skinapp.trust.degrade`: synthetic degradations and non-dermoscopy images used to
  measure all of the above (``python -m skinapp.evaluate --trust``, :mod:`skinapp.measure_trust`).
"""
