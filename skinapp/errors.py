"""Typed errors whose messages a clinician or a maintainer can act on.

Every error skinapp raises on purpose derives from :class:`SkinappError`, so the app can
catch one type, show ``str(err)`` in an error box, and keep working.
"""

from __future__ import annotations


class SkinappError(Exception):
    """Root of all skinapp errors. ``str(err)`` is a user-facing message."""


class ImageReadError(SkinappError):
    """The uploaded bytes are not an image we can read (or are unsafe to decode).

    Attributes
    ----------
    reason : str
        Short machine-readable code, e.g. ``"empty"``, ``"not_an_image"``, ``"too_large"``.
    """

    def __init__(self, message: str, *, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


class InvalidImageError(SkinappError):
    """The image decoded, but cannot be analysed (too small, wrong shape)."""

    def __init__(self, message: str, *, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class TransformError(SkinappError):
    """A pipeline step failed; carries the step name and the input's shape, dtype and range."""

    def __init__(
        self, step: str, shape: tuple, dtype: str, value_range: tuple, cause: Exception
    ) -> None:
        self.step, self.shape, self.dtype, self.value_range = step, shape, dtype, value_range
        super().__init__(
            f"Processing step '{step}' failed on an image of shape {shape}, dtype {dtype}, "
            f"range {value_range}: {cause}"
        )


class NotALesionError(SkinappError):
    """The photo is not a dermoscopic image of a skin lesion: it gets no grade and no report
    (:func:`skinapp.trust.decision.decide`)."""


class ModelLoadError(SkinappError):
    """The model files are missing, corrupt or of an unexpected version."""


class ShareError(SkinappError):
    """The public tunnel could not be started or stopped."""
