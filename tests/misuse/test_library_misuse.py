"""Misuse corpus, the library's API (issue 20): what raised a raw NumPy or Python traceback, or was
taken silently where PyTorch refuses, now raises at construction or call time, in PyTorch's
words where it has them, naming the argument or key. One case each."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from tinygrad_cnn.tensor import Tensor


def params() -> list[Tensor]:
    return [nn.Parameter(np.ones((2, 2), np.float32)), nn.Parameter(np.zeros(2, np.float32))]


# ----------------------------------------------------------------------------- optimizers

def test_an_optimizer_refuses_a_set_of_parameters() -> None:
    with pytest.raises(TypeError, match="ordering of tensors in sets will change between runs"):
        optim.SGD(set(params()), lr=0.1)


def test_an_optimizer_refuses_a_non_leaf_tensor() -> None:
    w = nn.Parameter(np.ones(2, np.float32))
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([w * 2], lr=0.1)


def test_an_optimizer_refuses_one_bare_tensor() -> None:
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got "
                                        "Parameter"):
        optim.SGD(nn.Parameter(np.ones(2, np.float32)), lr=0.1)


def test_a_param_group_without_params() -> None:
    with pytest.raises(TypeError, match="a param group must be a dict with a 'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


@pytest.mark.parametrize("state, message", [
    ({"state": {}}, r"Missing key\(s\): 'param_groups'"),
    ({"state": {}, "param_groups": [], "extra": 1}, r"Unexpected key\(s\): 'extra'"),
    ({"state": {"7": {"momentum_buffer": np.ones(2)}}, "param_groups": "GROUPS"},
     "state for parameter '7'; this optimizer numbers its parameters 0..1"),
    ({"state": {"x": {}}, "param_groups": "GROUPS"}, "state for parameter 'x'"),
    ({"state": {}, "param_groups": [{"lr": 0.1}]}, "should be a list of dicts with 'params'"),
    ({"state": {}, "param_groups": "TWO"}, "a different number of parameter groups"),
])
def test_optimizer_load_state_dict_of_another_shape(state, message) -> None:
    opt = optim.SGD(params(), lr=0.1, momentum=0.9)
    saved = opt.state_dict()
    if state.get("param_groups") == "GROUPS":
        state["param_groups"] = saved["param_groups"]
    elif state.get("param_groups") == "TWO":
        state["param_groups"] = saved["param_groups"] * 2
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)
    assert opt.state_dict()["param_groups"] == saved["param_groups"]  # untouched


# ----------------------------------------------------------------------------- schedulers

@pytest.mark.parametrize("make, message", [
    (lambda o: optim.StepLR(o, step_size=0), "Expected positive integer step_size, but got 0"),
    (lambda o: optim.StepLR(o, step_size=-2), "Expected positive integer step_size, but got -2"),
    (lambda o: optim.StepLR(o, step_size=1.5), "Expected positive integer step_size, but got 1.5"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=0), "Expected positive integer T_max"),
    (lambda o: optim.OneCycleLR(o, 0.1, total_steps=2.5), "positive integer total_steps"),
    (lambda o: optim.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3), "positive integer epochs"),
    (lambda o: optim.OneCycleLR(o, [0.1, 0.2], total_steps=4), "expected 1 values for max_lr"),
    (lambda o: optim.MultiStepLR(o, [2, 1.5]), r"milestones should be integers >= 0"),
    (lambda o: optim.ReduceLROnPlateau(o, min_lr=[0, 0]), "expected 1 min_lrs, got 2"),
    (lambda o: optim.ReduceLROnPlateau(o, patience=-1), "patience and cooldown should be"),
    (lambda o: optim.LambdaLR(o, [lambda e: 1.0] * 3), "Expected 1 lr_lambdas, but got 3"),
    (lambda o: optim.ExponentialLR(o, 0.9, last_epoch=-5), "last_epoch should be an integer"),
])
def test_schedulers_refuse_bad_periods_and_per_group_lists(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make(optim.SGD(params(), lr=0.1, momentum=0.9))


def test_scheduler_load_state_dict_with_missing_or_foreign_keys() -> None:
    opt = optim.SGD(params(), lr=0.1)
    step = optim.StepLR(opt, step_size=2)
    cosine_state = optim.CosineAnnealingLR(optim.SGD(params(), lr=0.1), T_max=3).state_dict()
    with pytest.raises(ValueError, match=r"StepLR: Missing key\(s\): 'gamma', 'step_size'; "
                                         r"Unexpected key\(s\): 'T_max', 'eta_min'"):
        step.load_state_dict(cosine_state)
    with pytest.raises(ValueError, match="last_epoch should be an integer >= -1, got 'x'"):
        step.load_state_dict({**step.state_dict(), "last_epoch": "x"})
    assert step.step_size == 2


# ----------------------------------------------------------------------------- forward hooks

def test_a_forward_hooks_return_value_replaces_the_output_as_in_pytorch() -> None:
    layer = nn.Linear(2, 2)
    layer.register_forward_hook(lambda module, inputs, out: out * 2)
    x = Tensor(np.ones((1, 2), np.float32))
    expected = 2 * (x.data @ layer.weight.data.T + layer.bias.data)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-6)


def test_a_forward_hook_returning_junk_names_itself() -> None:
    def junk(module, inputs, out):
        return "not a tensor"

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model[0].register_forward_hook(junk)
    with pytest.raises(TypeError, match="forward hook 'junk' of Linear returned str; a forward "
                                        "hook returns None"):
        model(Tensor(np.ones((1, 2), np.float32)))
    with pytest.raises(TypeError, match="the hook must be callable, got int"):
        model.register_forward_hook(3)


# ----------------------------------------------------------------------------- containers, data

def test_a_container_index_out_of_range_says_so() -> None:
    model = nn.Sequential(nn.ReLU(), nn.Tanh())
    with pytest.raises(IndexError, match="index 2 is out of range"):
        model[2]
    with pytest.raises(IndexError, match="index -3 is out of range"):
        nn.ModuleList([nn.ReLU()] * 2)[-3]
    assert isinstance(model[-1], nn.Tanh)


def test_a_dataset_index_out_of_range_uses_pytorchs_words() -> None:
    from tinygrad_cnn.data import Subset, TensorDataset

    data = TensorDataset(np.zeros((4, 2)), np.arange(4))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        data[4]
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        Subset(data, [0, 3])[2]
    assert int(Subset(data, [0, 3])[-1][1].item()) == 3


@pytest.mark.parametrize("size", [2.5, 0, -1, True, "8"])
def test_dataloader_batch_size_must_be_a_positive_integer(size) -> None:
    from tinygrad_cnn.data import DataLoader

    with pytest.raises(ValueError, match=f"batch_size should be a positive integer value, but "
                                         f"got batch_size={size}"):
        DataLoader(np.zeros((4, 1, 2, 2), np.float32), np.arange(4), batch_size=size)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("batch"), "the state has no batch"),
    (lambda s: s.update(epoch="one"), "every value should be an integer"),
    (lambda s: s.update(batch=99), "epoch 0, batch 99 is no position of a loader with 2"),
    (lambda s: s.update(epoch=-1), "epoch -1, batch 0 is no position"),
])
def test_dataloader_refuses_an_incomplete_state(change, message) -> None:
    from tinygrad_cnn.data import DataLoader

    loader = DataLoader(np.zeros((4, 1, 2, 2), np.float32), np.arange(4), batch_size=2)
    state = loader.state_dict()
    change(state)
    with pytest.raises(ValueError, match=message):
        loader.load_state_dict(state)
    assert loader.state_dict()["batch"] == 0


# ----------------------------------------------------------------------------- files and tools

@pytest.mark.parametrize("dims, words", [
    ([1] * 100, r"declares shape .*\(100 dimensions\); at most 16 dimensions"),
    ([0, 2**32 - 1, 2**32 - 1], r"declares shape \(0, 4294967295, 4294967295\)"),
])
def test_idx_headers_with_huge_dims_are_refused_naming_the_file(tmp_path, dims, words) -> None:
    import struct

    from tinygrad_cnn.datasets import IDXError, read_idx

    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + b"x")
    with pytest.raises(IDXError, match=rf"huge-idx3-ubyte: the header {words}"):
        read_idx(path)


def test_draw_graph_of_an_ndarray_says_what_it_draws() -> None:
    pytest.importorskip("graphviz")
    from tinygrad_cnn.viz import draw_graph

    with pytest.raises(TypeError, match="draws the graph recorded behind a Tensor .* got ndarray"):
        draw_graph(np.ones(3))


@pytest.mark.parametrize("export, message", [
    ("gray", r"save_gray: expected images \(N, H, W\) with N >= 1, got shape \(0, 28, 28\)"),
    ("kernels", r"plot_kernels: expected conv weights .* got shape \(0, 1, 3, 3\)"),
    ("confusion", "plot_confusion_matrix: expected as many predictions as labels"),
])
def test_empty_image_exports_say_what_is_missing(tmp_path, export, message) -> None:
    pytest.importorskip("matplotlib")
    from tinygrad_cnn import plots
    from tinygrad_cnn.datasets.preprocess import save_gray

    calls = {"gray": lambda: save_gray(np.zeros((0, 28, 28)), tmp_path / "x.png"),
             "kernels": lambda: plots.plot_kernels(np.zeros((0, 1, 3, 3)), tmp_path / "x.png"),
             "confusion": lambda: plots.plot_confusion_matrix(np.zeros(0, int), np.zeros(0, int),
                                                              tmp_path / "x.png")}
    with pytest.raises(ValueError, match=message):
        calls[export]()
    assert not (tmp_path / "x.png").exists()


def test_a_checkpoint_claiming_epoch_minus_3_does_not_resume(tmp_path) -> None:
    from tinygrad_cnn import runs

    state = {"epoch": -3, "config": '{"epochs": 5}', "model_name": "seed"}
    with pytest.raises(tg.CheckpointError, match="it claims epoch -3, which no run reaches"):
        runs.resume_settings(state, {"epochs": 5}, set(), ["epochs"])
    with pytest.raises(tg.CheckpointError, match="it claims epoch 9"):
        runs.epochs_done({**state, "epoch": 9})


# ----------------------------------------------------------------------------- core raw tracebacks

def test_autograd_grad_of_nothing() -> None:
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad requires non-empty outputs"):
        tg.autograd.grad([], x)
    with pytest.raises(RuntimeError, match="grad requires non-empty inputs"):
        tg.autograd.grad((x * 2).sum(), [])


def test_softmax_of_an_empty_tensor_is_empty_as_pytorch() -> None:
    assert tg.zeros(0).softmax(0).shape == (0,)
    assert tg.zeros(2, 0).log_softmax(1).shape == (2, 0)


def test_sum_takes_pytorchs_dtype() -> None:
    out = tg.tensor([1, 2], dtype=tg.int32).sum(dtype=tg.float32)
    assert out.dtype == np.float32 and out.item() == 3.0


def test_where_with_only_a_condition_is_nonzero_as_tuple() -> None:
    rows, cols = tg.where(tg.tensor([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1] and rows.dtype == np.int64
    with pytest.raises(TypeError, match=r"where\(\) takes both x and y, or neither"):
        tg.where(tg.tensor([True]), 1.0)


@pytest.mark.parametrize("mode, error, words", [
    ("bogus", ValueError, r"padding_mode must be one of \['zeros', 'reflect', 'replicate', "
                          r"'circular'\], but got padding_mode='bogus'"),
    ("reflect", NotImplementedError, "padding_mode='reflect' is not implemented here"),
])
def test_conv2d_padding_mode(mode, error, words) -> None:
    with pytest.raises(error, match=words):
        nn.Conv2d(1, 1, 3, padding_mode=mode)
    assert nn.Conv2d(1, 1, 3, padding_mode="zeros").padding_mode == "zeros"


@pytest.mark.parametrize("make, error, words", [
    (lambda p: optim.SGD(p, lr="0.1"), TypeError, "SGD: lr should be a number, got '0.1'"),
    (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, r"betas should be a pair .* \(0.9,\)"),
    (lambda p: optim.AdamW(p, eps=None), TypeError, "AdamW: eps should be a number, got None"),
])
def test_optimizer_hyper_parameters_are_numbers(make, error, words) -> None:
    with pytest.raises(error, match=words):
        make(params())


def test_health_monitor_of_something_else() -> None:
    with pytest.raises(TypeError, match="HealthMonitor watches an nn.Module, got str"):
        tg.HealthMonitor("model")


@pytest.mark.parametrize("junk", ["x", {"a": 1}, 3.0])
def test_a_tensor_hook_returning_junk_says_so_as_pytorch(junk) -> None:
    x = Tensor(2.0, requires_grad=True)
    y = x * 3
    y.register_hook(lambda grad: junk)
    with pytest.raises(TypeError, match=f"expected Tensor, but hook '<lambda>' returned "
                                        f"'{type(junk).__name__}'"):
        y.backward()


def test_sequential_items_are_set_and_deleted_as_in_pytorch() -> None:
    model = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
    model[1] = nn.Identity()
    del model[0]
    assert [name for name, _ in model.named_children()] == ["0", "1"]  # renumbered, as PyTorch
    assert isinstance(model[0], nn.Identity) and isinstance(model[1], nn.Sigmoid)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        del model[5]
    with pytest.raises(TypeError, match="Sequential holds Modules, got int"):
        model[0] = 3


def test_random_split_refuses_negative_lengths() -> None:
    from tinygrad_cnn.data import TensorDataset, random_split

    with pytest.raises(ValueError, match=r"lengths must be >= 0, got \[-1, 5\]"):
        random_split(TensorDataset(np.zeros((4, 2))), [-1, 5])
