"""``python -m skinapp.predict`` on samples, folders, derm layouts and hostile files."""

import shutil

import numpy as np
import pandas as pd
import pytest

from skinapp import predict
from skinapp.serving import DEFAULT_MODEL_DIR as MODELS_DIR

pytestmark = pytest.mark.skipif(
    not (MODELS_DIR / "model.tflite").is_file(), reason="no shipped model in models/"
)


def test_predict_files_and_folders(tmp_path, sample_paths):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(sample_paths[0], folder / "a.jpg")
    shutil.copy(sample_paths[1], folder / "sub" / "b.png")  # wrong extension on purpose
    (folder / "notes.jpg").write_text("<html>not an image</html>")
    (folder / "empty.jpg").write_bytes(b"")
    out = tmp_path / "preds.csv"
    assert (
        predict.main([str(folder), str(sample_paths[2]), "--out", str(out), "--no-progress"]) == 0
    )
    frame = pd.read_csv(out, dtype={"error": str}, keep_default_na=False)
    assert list(frame.columns) == list(predict.COLUMNS)
    assert len(frame) == 5
    ok = frame[frame["error"] == ""]
    assert set(ok["image_id"]) == {"a", "b", sample_paths[2].stem}
    assert ok["p_malignant"].astype(float).between(0, 1).all()
    assert set(ok["prediction"]) <= {"benign", "malignant"}
    assert set(ok["grade"].astype(int)) <= {1, 2, 3}
    bad = frame[frame["error"] != ""].set_index("image_id")
    assert set(bad.index) == {"notes", "empty"}
    assert (bad["p_malignant"] == "").all()


def test_predict_derm_layout_needs_only_image_id(tmp_path, sample_paths):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    for p in sample_paths[:3]:
        shutil.copy(p, root / "images" / p.name)
    ids = [p.stem for p in sample_paths[:3]] + ["MISSING_1"]
    pd.DataFrame({"image_id": ids}).to_csv(root / "metadata.csv", index=False)
    out = tmp_path / "preds.csv"
    assert predict.main([str(root), "--out", str(out), "--no-progress"]) == 0
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame["image_id"]) == ids
    assert frame.loc[3, "error"] and frame.loc[3, "p_malignant"] == ""


def test_only_bad_inputs_exit_2(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"\x00" * 100)
    assert (
        predict.main([str(tmp_path / "x.jpg"), "--out", str(tmp_path / "o.csv"), "--no-progress"])
        == 2
    )


def test_missing_model_is_a_clear_error(tmp_path, sample_paths, capsys):
    code = predict.main(
        [str(sample_paths[0]), "--out", str(tmp_path / "o.csv"), "--model-dir", str(tmp_path)]
    )
    assert code == 2
    assert "Model file missing" in capsys.readouterr().err


def test_predict_writes_the_ood_columns(tmp_path, sample_paths):
    out = tmp_path / "preds.csv"
    assert predict.main([str(sample_paths[0]), "--out", str(out), "--no-progress"]) == 0
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns[:7]) == [  # the existing contract, unchanged, comes first
        "image_id", "p_malignant", "prediction", "grade", "ood_score", "ood", "error"
    ]  # fmt: skip
    assert {"ood_score", "ood", "unusual"} <= set(frame.columns)
    if (MODELS_DIR / "ood.npz").is_file():
        assert float(frame.loc[0, "ood_score"]) < 0  # above 0 means "not a lesion"
        assert int(frame.loc[0, "ood"]) == 0  # a bundled dermoscopy sample is a lesion
        assert int(frame.loc[0, "unusual"]) in (0, 1)
    else:
        assert frame.loc[0, "ood_score"] == "" and frame.loc[0, "ood"] == ""


@pytest.mark.skipif(not (MODELS_DIR / "ood.npz").is_file(), reason="no ood.npz")
def test_ood_means_not_a_lesion_and_unusual_is_the_caution(tmp_path, sample_paths):
    """Same decision as the app: a cat photo is ``ood`` (grade still written), a lesion
    with its colour channels swapped is ``unusual`` but not ``ood``."""
    skimage_data = pytest.importorskip("skimage.data")
    from skinapp.io import encode_png, read_image

    lesion = next(p for p in sample_paths if p.name == "ISIC_0000411.jpg")
    (tmp_path / "cat.png").write_bytes(encode_png(skimage_data.chelsea()))
    swapped = np.ascontiguousarray(read_image(lesion)[:, :, ::-1])
    (tmp_path / "swapped.png").write_bytes(encode_png(swapped))
    out = tmp_path / "preds.csv"
    paths = [str(tmp_path / "cat.png"), str(tmp_path / "swapped.png"), str(lesion)]
    assert predict.main([*paths, "--out", str(out), "--no-progress", "--tta"]) == 0
    rows = pd.read_csv(out, keep_default_na=False).set_index("image_id")
    assert (rows.loc["cat", "ood"], rows.loc["cat", "unusual"]) == (1, 0)
    assert float(rows.loc["cat", "ood_score"]) > 0
    assert rows.loc["cat", "grade"] in (1, 2, 3) and rows.loc["cat", "p_malignant"] != ""
    assert (rows.loc["swapped", "ood"], rows.loc["swapped", "unusual"]) == (0, 1)
    assert (rows.loc["ISIC_0000411", "ood"], rows.loc["ISIC_0000411", "unusual"]) == (0, 0)


def test_tta_flag_gives_the_apps_answer(tmp_path, sample_paths):
    from skinapp.io import read_image
    from skinapp.serving import Classifier

    out_single, out_tta = tmp_path / "single.csv", tmp_path / "tta.csv"
    paths = [str(p) for p in sample_paths[:2]]
    assert predict.main([*paths, "--out", str(out_single), "--no-progress"]) == 0
    assert predict.main([*paths, "--out", str(out_tta), "--no-progress", "--tta"]) == 0
    single, tta = pd.read_csv(out_single), pd.read_csv(out_tta)
    classifier = Classifier(MODELS_DIR)
    for i, path in enumerate(sample_paths[:2]):
        image = read_image(path)
        assert single.loc[i, "p_malignant"] == pytest.approx(
            classifier.predict(image).p_malignant, abs=1e-4
        )
        app = classifier.predict(image, tta=True)
        assert tta.loc[i, "p_malignant"] == pytest.approx(app.p_malignant, abs=1e-4)
        assert tta.loc[i, "grade"] == app.grade


@pytest.mark.parametrize("tta", [False, True])
def test_predict_writes_the_differential_summing_to_one(tmp_path, sample_paths, tta):
    out = tmp_path / "preds.csv"
    args = [*map(str, sample_paths), "--out", str(out), "--no-progress"]
    assert predict.main(args + (["--tta"] if tta else [])) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns[:7]) == [
        "image_id",
        "p_malignant",
        "prediction",
        "grade",
        "ood_score",
        "ood",
        "error",
    ]
    p_cols = [f"p_{c}" for c in predict.DX_CLASSES]
    assert set(p_cols) <= set(frame.columns)
    assert frame["dx"].isin(predict.DX_CLASSES).all()
    assert np.allclose(frame[p_cols].sum(axis=1), 1.0, atol=1e-4)
    # the malignant diagnoses sum to p_malignant: the differential and the grade agree
    assert np.allclose(
        frame[["p_akiec", "p_bcc", "p_mel"]].sum(axis=1), frame["p_malignant"], atol=1e-4
    )
    # never a malignant top call in grade 1
    assert not frame[frame["grade"] == 1]["dx"].isin(["akiec", "bcc", "mel"]).any()
