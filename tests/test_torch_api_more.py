"""The PyTorch API that beginner pages use beyond the core (issue 21): torch.load's keywords,
torch.save of a whole module refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn


def test_load_takes_pytorchs_weights_only_and_map_location(tmp_path):
    model = nn.Linear(3, 2)
    tg.save(model.state_dict(), tmp_path / "model.pth")
    for kwargs in ({"weights_only": True}, {"weights_only": False}, {"map_location": "cpu"}):
        state = tg.load(tmp_path / "model.pth", **kwargs)
        np.testing.assert_array_equal(state["weight"], model.weight.data)
    with pytest.raises(ValueError, match="on the CPU"):
        tg.load(tmp_path / "model.pth", map_location="cuda:0")


def test_saving_a_whole_module_is_refused_with_the_state_dict_advice(tmp_path):
    with pytest.raises(TypeError, match=r"whole Linear would need pickle.*model\.state_dict\(\)"):
        tg.save(nn.Linear(3, 2), tmp_path / "model.pth")
    assert not (tmp_path / "model.pth").exists()
