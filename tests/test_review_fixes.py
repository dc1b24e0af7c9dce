"""Cases a review of the PyTorch-compatibility work found; the expected numbers are PyTorch
2.13's (or its refusal, where we are stricter and say so)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn.data import DataLoader, TensorDataset, random_split


def test_a_view_read_after_its_base_changed_in_place_refuses_backward():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    t = x * 1
    view = t[0:2]
    t.mul_(3)
    with pytest.raises(RuntimeError, match="view was taken before an in-place update of its base"):
        (view * view).sum().backward()  # PyTorch rebuilds the view's history: [18, 36, 0, 0]
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    t = x * 1
    early = t[0:2] * 2  # read before the update: its gradient is right
    t.mul_(3)
    early.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 0.0, 0.0]


def test_a_hook_registered_before_an_in_place_update_sees_the_old_value():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 2
    seen = []
    a.register_hook(lambda g: (seen.append(g.tolist()), g * 10)[1])
    b = a * 3
    a.mul_(5)
    (a.sum() + b.sum()).backward()
    assert seen == [[8.0, 8.0, 8.0]] and x.grad.tolist() == [160.0, 160.0, 160.0]


def test_grad_of_several_outputs_is_one_pass():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1
    calls = []
    a.register_hook(lambda g: (calls.append(1), g.clamp(max=1.5))[1])
    (g,) = tg.autograd.grad([(a * 1).sum(), (a * 1).sum()], [x])
    assert g.tolist() == [1.5, 1.5, 1.5] and len(calls) == 1
    outputs = [(x * 2).sum(), (x * x).sum()]
    with tg.no_grad():  # the graph exists already: its combination is still recorded
        (g,) = tg.autograd.grad(outputs, x)
    assert g.tolist() == [4.0, 6.0, 8.0]


def test_norm_below_one_has_zero_gradient_at_zero():
    x = tg.tensor([[0.0, 1.0, 2.0]], requires_grad=True)
    x.norm(p=0.5, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 2.4142136, 1.7071068]], rtol=1e-6)


@pytest.mark.parametrize("op", ["gelu", "elu", "softplus", "silu"])
def test_smooth_activations_refuse_integers(op):
    with pytest.raises(TypeError, match=f"{op}: not implemented for int64"):
        getattr(tg.nn.functional, op)(tg.tensor([1, 2, 3]))


def test_var_and_std_take_pytorchs_positional_order():
    a = np.arange(12.0).reshape(3, 4)
    x = Tensor(a)
    np.testing.assert_allclose(x.var(1, False).data, a.var(1), rtol=1e-6)  # unbiased=False
    assert x.std(0, True).shape == (4,) and x.std(0, True, True).shape == (1, 4)
    np.testing.assert_allclose(tg.std(x, 0, False).data, a.std(0), rtol=1e-6)
    with pytest.raises(TypeError, match="unbiased or correction, not both"):
        x.var(0, True, correction=0)


def test_bool_scalars_and_zero_d_tensors_in_mixed_indices():
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    x = Tensor(a, dtype=np.float64)
    # True is a 0-d mask that joins the index arrays (NumPy and PyTorch): rows a[1, 0], a[1, 1]
    np.testing.assert_array_equal(x[True, 1, [0, 1]].data, a[1][[0, 1]])
    assert x[tg.tensor(1), :, [0, 3]].shape == x[1, :, [0, 3]].shape == (3, 2, 5)


def test_dataloader_keeps_array_likes_and_takes_lists_and_positional_shuffle():
    class ArrayLike:  # an array with __array__, as PyTorch's tensors and h5py datasets have
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

        def __len__(self):
            return len(self.a)

        def __getitem__(self, i):
            return self.a[i]

    images, labels = np.zeros((4, 8, 8), np.uint8), np.arange(4)
    assert len(DataLoader(ArrayLike(images), labels, batch_size=2)) == 2
    samples = [(np.full(2, i, np.float32), i) for i in range(5)]
    x, y = next(iter(DataLoader(samples, batch_size=3)))
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    loader = DataLoader(TensorDataset(images, labels), 2, True)  # (dataset, batch_size, shuffle)
    assert loader.batch_size == 2 and loader.shuffle


def test_smaller_fixes():
    assert nn.Conv1d(2, 3, 3, padding=(1,))(tg.randn(1, 2, 5)).shape == (1, 3, 5)
    assert [len(s) for s in random_split(range(1), [1.0])] == [1]
    x = tg.tensor([1.0, 2.0])
    assert x.to(copy=True) is not x and x.to() is x
    with pytest.raises(KeyError, match="'train' is the name of a ModuleDict method"):
        nn.ModuleDict({"train": nn.ReLU()})
    with pytest.raises(RuntimeError, match=r"backward\(inputs=...\): input 0 .* does not require"):
        (tg.tensor([1.0], requires_grad=True) * 2).sum().backward(inputs=[tg.tensor([1.0])])
    tg.manual_seed(0)
    out = nn.Dropout2d(0.5)(tg.ones(4, 8, 5)).data  # (N, C, L): whole (n, c) rows, as PyTorch
    assert np.all(out.std(axis=2) == 0)


def test_grad_mode_helpers_as_decorators_and_prebuilt():
    x = tg.tensor([1.0], requires_grad=True)

    @tg.set_grad_enabled(False)
    def f():
        return (x * 2).requires_grad

    assert tg.is_grad_enabled() and f() is False and tg.is_grad_enabled()
    keep = tg.inference_mode(False)
    with tg.no_grad():
        with keep:
            assert not tg.is_grad_enabled()  # leaves the mode as it is when the block starts


def test_softmax_module_without_dim_is_pytorchs_implicit_choice():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = nn.Softmax()(tg.ones(2, 3, 4))  # 3-D: dim 0
    np.testing.assert_allclose(out.sum(0).data, np.ones((3, 4)), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmax(dim=-1)(tg.ones(2, 3))
