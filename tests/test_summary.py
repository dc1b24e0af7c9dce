"""summary: per-layer output shapes, parameter counts, mult-adds and totals, counted by hand."""

from __future__ import annotations

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn


def lenet5(pad: int, flat: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def test_classic_lenet5_numbers(capsys) -> None:
    # LeCun's LeNet-5 (32x32 input, here 28x28 padded by 2): 400 features into the classifier
    result = tc.summary(lenet5(pad=2, flat=400), (2, 1, 28, 28))
    conv1 = 6 * 1 * 5 * 5 + 6
    conv2 = 16 * 6 * 5 * 5 + 16
    fcs = (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert result.total_params == conv1 + conv2 + fcs == 61_706
    assert result.trainable_params == 61_706 and result.non_trainable_params == 0
    rows = {row.name: row for row in result.rows}
    assert [row.name for row in result.rows] == [str(i) for i in range(12)]
    assert rows["0"].output_shape == (2, 6, 28, 28) and rows["0"].params == 156
    assert rows["5"].output_shape == (2, 16, 5, 5)
    assert rows["6"].output_shape == (2, 400) and rows["6"].type == "Flatten"
    assert rows["0"].mult_adds == 2 * 6 * 28 * 28 * 1 * 5 * 5
    assert rows["3"].mult_adds == 2 * 16 * 10 * 10 * 6 * 5 * 5
    assert rows["7"].mult_adds == 2 * 400 * 120
    assert rows["1"].mult_adds == 0
    assert result.total_mult_adds == 2 * (117_600 + 240_000 + 48_000 + 10_080 + 840)
    assert result.param_bytes == 61_706 * 4
    printed = capsys.readouterr().out
    assert "Total params: 61,706" in printed and "0 (Conv2d)" in printed
    assert "(2, 16, 10, 10)" in printed and "833,040" in printed


def test_issue_lenet5_on_28x28_has_256_features() -> None:
    result = nn.summary(lenet5(pad=0, flat=256), (1, 1, 28, 28), verbose=False)
    assert result.total_params == 156 + 2416 + (256 * 120 + 120) + 10_164 + 850 == 44_426
    assert result.rows[-1].output_shape == (1, 10)


def test_nested_names_buffers_and_frozen_params_and_modes_restored() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
            self.drop = nn.Dropout(0.5)
            self.head = nn.Linear(4 * 8 * 8, 5)

        def forward(self, x: Tensor) -> Tensor:
            return self.head(self.drop(self.features(x)).flatten(1))

    net = Net()
    net.head.requires_grad_(False)
    net.drop.eval()  # a mixed state, restored exactly afterwards
    before = net.features[1].running_mean.data.copy()
    result = nn.summary(net, (3, 3, 8, 8), verbose=False)
    assert [row.name for row in result.rows] == ["features.0", "features.1", "drop", "head"]
    assert result.rows[1].params == 8 and result.rows[1].mult_adds == 0
    assert result.total_params == (4 * 27 + 4) + 8 + (256 * 5 + 5)
    assert result.non_trainable_params == 256 * 5 + 5
    assert [m.training for m in net.modules()] == [True, True, True, True, False, True]
    assert int(net.features[1].num_batches_tracked.data) == 0  # ran in eval: stats untouched
    np.testing.assert_array_equal(net.features[1].running_mean.data, before)
    assert all(not m.__dict__.get("_forward_hooks") for m in net.modules())  # hooks removed
    assert "ModelSummary(layers=4" in repr(result)
