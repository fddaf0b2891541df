"""Choosing ensemble members on the validation split (``python -m skinapp.compare``)."""

import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skinapp.compare import combination_table, main


def test_combinations_average_log_odds_and_sort_by_tta_auc():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 20)
    good = rng.normal(size=(8, 40)) + 2.0 * y
    noisy = rng.normal(size=(8, 40)) * 3 + 0.5 * y
    table = combination_table({"good": good, "noisy": noisy}, y, max_members=2)
    assert list(table["n_members"].sort_values()) == [1, 1, 2]
    pair = table.set_index("members").loc["good+noisy"]
    assert pair["auc_tta"] == pytest.approx(roc_auc_score(y, ((good + noisy) / 2).mean(0)))
    assert pair["auc_single_view"] == pytest.approx(roc_auc_score(y, (good + noisy)[0]))
    assert table["auc_tta"].is_monotonic_decreasing


def test_cli_scores_runs_on_val_only(tiny_model_dir, tiny_derm, tmp_path, capsys):
    out, other = tmp_path / "compare.csv", tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    argv = [str(tiny_model_dir), str(other), "--data", str(tiny_derm)]
    assert main([*argv, "--out", str(out)]) == 0
    n_val = (pd.read_csv(tiny_derm / "metadata.csv")["split"] == "val").sum()
    assert f"validation split: {n_val} images" in capsys.readouterr().out
    table = pd.read_csv(out)
    assert len(table) == 3  # two singles and their pair
    same = table.set_index("members")["auc_tta"]
    assert same[tiny_model_dir.name] == same["other"] == same[f"{tiny_model_dir.name}+other"]
    assert table[["auc_single_view", "auc_tta"]].stack().between(0, 1).all()


def test_cli_missing_run_is_a_clear_error(tiny_derm, tmp_path, capsys):
    assert main([str(tmp_path / "nope"), "--data", str(tiny_derm)]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_old_command_name_still_works():
    from skinapp.model import compare as old_name

    assert old_name.main is main and old_name.combination_table is combination_table
