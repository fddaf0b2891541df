"""The model card's "Lesion outline and ABCD descriptors" section (Markdown, from saved JSON).

Reads ``segmentation_metrics.json`` (``python -m skinapp.vision.measure``) and
``descriptor_agreement.json`` (``python -m skinapp.evidence.agreement``); no hand-typed numbers.
"""

from __future__ import annotations

from typing import Any

SEG_CMD = (
    "python -m skinapp.vision.measure --data ../shared/data/derm "
    "--out models/segmentation_metrics.json"
)
AGREE_CMD = "python -m skinapp.evidence.agreement --data ../shared/data/derm --model-dir models"


def _num(value: Any, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


_METHODS = {
    "learned": "learned (MobileNetV2 U-Net, shipped)",
    "with_hair_removal": "classical, after hair removal (fallback)",
    "without_hair_removal": "classical, as is",
}
#: The splits that were not held out, as the extra table labels them.
_OTHER_SPLITS = {"val": "val (tuning)", "train": "train (trained on)"}


def _scores(block: dict[str, Any]) -> str:
    return (
        f"{block['n']} | {_num(block.get('mean_jaccard'))} | "
        f"{_num(block.get('thresholded_jaccard'))} | {_num(block.get('mean_dice'))} |"
    )


def _segmentation_rows(seg: dict[str, Any]) -> str:
    rows = []
    for key, label in _METHODS.items():
        block = (seg.get("segmentation") or {}).get(key, {}).get("test")
        if not block or not block.get("n"):
            continue
        rows.append(f"| {label} | {_scores(block)}")
    return "\n".join(rows)


def _other_split_rows(seg: dict[str, Any]) -> str:
    rows = []
    for split, split_label in _OTHER_SPLITS.items():
        for key, label in _METHODS.items():
            block = (seg.get("segmentation") or {}).get(key, {}).get("by_split", {}).get(split)
            if block and block.get("n"):
                rows.append(f"| {label} | {split_label} | {_scores(block)}")
    return "\n".join(rows)


def _descriptor_rows(agree: dict[str, Any]) -> str:
    rows = []
    for name, entry in agree["descriptors"].items():
        auc, learned = entry.get("auc", {}), entry.get("learned", {})
        rows.append(
            f"| {name.replace('_', ' ')} | {_num(learned.get('pearson_r'), '.2f')} | "
            f"{_num(auc.get('ground_truth'))} | {_num(auc.get('learned'))} | "
            f"{_num(auc.get('classical'))} |"
        )
    return "\n".join(rows)


def outline_section(seg: dict[str, Any] | None, agree: dict[str, Any] | None) -> str:
    """Markdown: the outline's test scores and the descriptors' agreement and own AUCs."""
    parts = []
    if seg and seg.get("segmentation"):
        parts.append(
            f"""The outline the app shows, measures and saves comes from a learned segmenter (a
MobileNetV2 U-Net trained on the train-split masks, epoch, threshold and the "outline uncertain"
cut-off chosen on the val-split masks; no convex hull); the classical method is the fallback
when its file is missing. Scored on the test-split ground-truth masks (thresholded Jaccard:
per-image Jaccard below 0.65 counted as 0, ISIC 2018):

| method | images | mean Jaccard | thresholded Jaccard | mean Dice |
| --- | --- | --- | --- | --- |
{_segmentation_rows(seg)}"""
        )
        other = _other_split_rows(seg)
        if other:
            parts.append(
                f"""The same methods on the splits that were not held out (val tuned the threshold
and the classical parameters; the segmenter learnt the train masks, so those scores are
optimistic):

| method | split | images | mean Jaccard | thresholded Jaccard | mean Dice |
| --- | --- | --- | --- | --- | --- |
{other}"""
            )
        parts[-1] += f"\n\nCommand: `{seg.get('command', SEG_CMD)}` (`make segment-metrics`)."
    else:
        parts.append(f"No segmentation_metrics.json saved yet (`{SEG_CMD}`).")
    if agree and agree.get("descriptors"):
        parts.append(
            f"""ABCD descriptors on the {agree["n_images"]} {agree["split"]}-split images with a
ground-truth mask ({agree["n_malignant"]} malignant), measured on the ground-truth mask, the
learned outline and the classical outline: agreement of the learned outline's value with the
ground truth's (Pearson r), and each descriptor's own ROC AUC for malignancy (the raw value as
the score, no fitting; above 0.5 = higher in malignant lesions; with about 50 malignant lesions
the 95% interval of each AUC is roughly ±0.08, so only the larger ones are clear signals).

| descriptor | r (learned vs truth) | AUC, truth mask | AUC, learned | AUC, classical |
| --- | --- | --- | --- | --- |
{_descriptor_rows(agree)}

Command: `{agree.get("command", AGREE_CMD)}`."""
        )
    else:
        parts.append(f"No descriptor_agreement.json saved yet (`{AGREE_CMD}`).")
    return "\n\n".join(parts)
