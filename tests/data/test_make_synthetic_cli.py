"""``cmnet make-synthetic DIR --recipe demo|realistic|hard``: the recipe's amplitude range and distractors reach the
tree (synthetic.json, truth.json's per-clip ``amplitude_px``); no recipe keeps the generator's defaults."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from cmnet_core.cli import main
from cmnet_core.data.synthetic import SYNTHETIC_RECIPES, Distractors

TINY = ["--subjects", "1", "--clips-per-class", "1", "--size", "40", "--labels", "happiness", "surprise"]


@pytest.mark.parametrize("recipe", sorted(SYNTHETIC_RECIPES))
def test_recipe_reaches_the_tree(tmp_path, capsys, recipe):
    out = tmp_path / recipe
    assert main(["make-synthetic", str(out), *TINY, "--recipe", recipe, "--seed", "3"]) == 0
    r = SYNTHETIC_RECIPES[recipe]
    assert f"recipe: {recipe}:" in capsys.readouterr().out
    spec = json.loads((out / "synthetic.json").read_text())
    assert spec["amplitude_range"] == list(r.amplitude_range) and spec["distractors"] == asdict(r.distractors)
    assert (spec["seed"], spec["image_size"], spec["n_subjects"]) == (3, 40, 1)
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth) == 2
    low, high = r.amplitude_range
    for clip in truth.values():
        assert low <= clip["amplitude_px"] <= high


def test_no_recipe_keeps_the_generator_defaults_and_seed_reproduces(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["make-synthetic", str(a), *TINY]) == 0
    assert "recipe: none (generator defaults)" in capsys.readouterr().out
    spec = json.loads((a / "synthetic.json").read_text())
    assert spec["amplitude_range"] == [2.5, 4.0] and spec["distractors"] == asdict(Distractors())
    assert main(["make-synthetic", str(b), *TINY]) == 0
    assert (a / "truth.json").read_text() == (b / "truth.json").read_text()  # same seed, same tree
    assert all(2.5 <= c["amplitude_px"] <= 4.0 for c in json.loads((a / "truth.json").read_text()).values())
    with pytest.raises(SystemExit):
        main(["make-synthetic", str(tmp_path / "c"), "--recipe", "extreme"])
