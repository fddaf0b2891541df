"""Metadata convention for parameter dataclasses.

Every tunable parameter of a transform is a field of a frozen dataclass declared as::

    clip_limit: float = field(default=2.0, metadata=ui(0.5, 8.0, 0.5, "How hard CLAHE ..."))

The Preprocessing Lab builds its widgets from ``dataclasses.fields()`` and this metadata,
so nothing about a slider is written by hand. ``check_ranges`` validates an instance against
the same metadata (call it from ``__post_init__``).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def ui(
    min_value: float | None = None,
    max_value: float | None = None,
    step: float | None = None,
    help: str = "",
    *,
    choices: tuple[Any, ...] | None = None,
    odd: bool = False,
    label: str | None = None,
) -> dict[str, Any]:
    """Return field metadata describing a parameter's range and a one-line explanation.

    Parameters
    ----------
    min_value, max_value, step : float, optional
        Inclusive numeric range and slider step (numbers only).
    help : str
        One sentence for students: what the parameter does to the image.
    choices : tuple, optional
        Allowed values for a categorical parameter (rendered as a selector).
    odd : bool
        The value must be an odd integer (kernel sizes).
    label : str, optional
        Human-readable name; defaults to the field name with underscores as spaces.
    """
    return {
        "ui": {
            "min": min_value,
            "max": max_value,
            "step": step,
            "help": help,
            "choices": choices,
            "odd": odd,
            "label": label,
        }
    }


def check_ranges(params: Any) -> None:
    """Raise ``ValueError`` if any field of ``params`` is outside its ``ui`` metadata.

    Messages follow the Keras style: "... Received: `name=value`".
    """
    for f in dataclasses.fields(params):
        meta = f.metadata.get("ui")
        if meta is None:
            continue
        value = getattr(params, f.name)
        name = type(params).__name__
        if meta["choices"] is not None:
            if value not in meta["choices"]:
                raise ValueError(
                    f"{name}.{f.name} must be one of {meta['choices']}. "
                    f"Received: `{f.name}={value!r}`"
                )
            continue
        if isinstance(value, bool):
            continue
        if meta["min"] is not None and value < meta["min"]:
            raise ValueError(
                f"{name}.{f.name} must be >= {meta['min']}. Received: `{f.name}={value!r}`"
            )
        if meta["max"] is not None and value > meta["max"]:
            raise ValueError(
                f"{name}.{f.name} must be <= {meta['max']}. Received: `{f.name}={value!r}`"
            )
        if meta["odd"] and int(value) % 2 != 1:
            raise ValueError(f"{name}.{f.name} must be odd. Received: `{f.name}={value!r}`")


def to_dict(params: Any) -> dict[str, Any]:
    """Plain-JSON dict of a parameter dataclass (nested dataclasses included)."""
    return dataclasses.asdict(params)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build ``cls`` from a dict, ignoring unknown keys (forward-compatible settings files).

    Raises ``ValueError`` (from ``__post_init__``) if a value is out of range.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
