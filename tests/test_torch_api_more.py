"""The PyTorch API that PyTorch's beginner pages use (issue 21): factories (linspace, logspace,
empty, *_like, new_*), Tensor methods (type, eq..ge, view_as, __index__, grad checks,
grad_fn.next_functions, print), out= and keyword names, devices, MSELoss promotion, and
torch.load's keywords. Expected numbers are PyTorch 2.13's."""

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


# ----- factories: PyTorch 2.13's values ----------------------------------------------------------
def test_linspace_and_logspace_give_pytorchs_float32_values():
    assert tg.linspace(-1, 1, 7).tolist() == [
        -1.0, -0.6666666269302368, -0.3333333134651184, -2.9802322387695312e-08,
        0.3333333134651184, 0.6666666269302368, 1.0]
    assert tg.linspace(0, 1, 4, dtype=tg.float64).tolist() == [
        0.0, 0.3333333333333333, 0.6666666666666667, 1.0]
    assert tg.linspace(0, 10, 5, dtype=tg.int64).tolist() == [0, 2, 5, 7, 10]  # truncated
    assert tg.linspace(2, 3, 1).tolist() == [2.0] and tg.linspace(0, 1, 0).shape == (0,)
    assert tg.logspace(-1, 1, 5).tolist() == [0.10000000149011612, 0.3162277638912201, 1.0,
                                               3.1622776985168457, 10.0]
    assert tg.logspace(0, 3, 4, base=2).tolist() == [1.0, 2.0, 4.0, 8.0]
    with pytest.raises(ValueError, match="non-negative"):
        tg.linspace(0, 1, -1)


def test_empty_and_like_factories_keep_the_inputs_dtype_unless_given():
    assert tg.empty(2, 3).shape == (2, 3) and tg.empty((2,)).dtype == np.float32
    ints = tg.tensor([1, 2])
    assert tg.full_like(ints, 2.7).tolist() == [2, 2]  # int64, as PyTorch
    assert tg.empty_like(ints).dtype == np.int64 and tg.zeros_like(ints, dtype=tg.float).dtype \
        == np.float32
    tg.manual_seed(0)
    r = tg.rand_like(ints, dtype=tg.float)
    assert r.shape == (2,) and r.dtype == np.float32 and 0 <= r.min().item() < 1
    assert tg.randn_like(tg.ones(3, 2, dtype=tg.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="rand_like: random floats need a float dtype"):
        tg.rand_like(ints)


def test_new_methods_take_this_tensors_dtype():
    x = tg.ones(2, 3, dtype=tg.float64)
    assert x.new_ones(5, 3).dtype == np.float64 and x.new_ones((5, 3)).shape == (5, 3)
    assert x.new_zeros(2, dtype=tg.long).tolist() == [0, 0]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_full((2,), 7).dtype == np.float64
    assert x.new_empty(1, 2).shape == (1, 2)
    source = np.array([1, 2])
    copy = x.new_tensor(source, requires_grad=True)
    assert copy.dtype == np.float64 and copy.requires_grad and not np.shares_memory(
        copy.data, source)


# ----- Tensor methods ----------------------------------------------------------------------------
def test_type_comparisons_and_as_methods():
    x = tg.tensor([1.0, 2.5])
    assert x.type() == "torch.FloatTensor" and tg.tensor([1]).type() == "torch.LongTensor"
    assert x.type(tg.int32).tolist() == [1, 2] and x.type(tg.int32).dtype == np.int32
    assert x.type("torch.DoubleTensor").dtype == np.float64
    y = tg.tensor([2.0, 2.0])
    assert [x.eq(y).tolist(), x.ne(y).tolist(), x.lt(y).tolist(), x.le(y).tolist(),
            x.gt(y).tolist(), x.ge(y).tolist()] == [
        [False, False], [True, True], [True, False], [True, False], [False, True], [False, True]]
    pred = tg.tensor([[3], [1]])
    assert pred.eq(tg.tensor([3, 0]).view_as(pred)).sum().item() == 1  # mnist/main.py's test
    assert tg.arange(6).reshape_as(tg.ones(2, 3)).shape == (2, 3)
    assert tg.tensor([[1.0], [2.0]]).expand_as(tg.ones(2, 4)).tolist()[1] == [2.0] * 4


def test_a_one_element_integer_tensor_is_an_index():
    classes = ["T-shirt/top", "Trouser", "Pullover"]
    logits = tg.tensor([[0.1, 0.2, 3.0]])
    assert classes[logits[0].argmax(0)] == "Pullover"  # quickstart's classes[pred[0].argmax(0)]
    assert list(range(10))[tg.tensor(4):][0] == 4
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        classes[tg.tensor(1.0)]


def test_only_a_tensor_of_the_right_shape_or_none_is_a_grad():
    a = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match="expected to be a Tensor or None but got grad of type "
                                        "float"):
        a.grad = 0.0
    with pytest.raises(RuntimeError, match="different size"):
        a.grad = tg.ones(2)
    (a * 3).backward()
    assert a.grad.item() == 3.0
    a.grad = None
    (a * 2).backward()
    assert a.grad.item() == 2.0


def test_grad_fn_next_functions_walk_the_graph_as_pytorchs_tutorial():
    x = tg.ones(2, requires_grad=True)
    loss = ((x * 2) ** 2).sum()
    (pow_node, _), = loss.grad_fn.next_functions
    (mul_node, zero), = pow_node.next_functions[:1]
    assert type(pow_node).__name__ == "Pow" and type(mul_node).__name__ == "Mul" and zero == 0
    (leaf, _), (constant, _) = mul_node.next_functions  # PyTorch: AccumulateGrad, None
    assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is x and constant is None
    assert leaf.next_functions == ()


def test_print_shows_pytorchs_form_and_format_reads_one_element():
    assert str(tg.tensor([5.5, 3])) == "tensor([5.5000, 3.0000])"
    assert str(tg.ones(2, dtype=tg.float64)) == "tensor([1., 1.], dtype=torch.float64)"
    assert str(tg.tensor(3)) == "tensor(3)"
    w = tg.ones(2, requires_grad=True)
    assert str(w) == "tensor([1., 1.], requires_grad=True)"
    assert str(w * 2) == "tensor([2., 2.], grad_fn=<MulBackward0>)"
    assert f"{tg.tensor(2.5):.3f}" == "2.500" and f"{tg.tensor([1])}" == "tensor([1])"
    assert str(tg.tensor([True, True])) == "tensor([True, True])"
    assert str(tg.tensor([True, False])) == "tensor([ True, False])"


# ----- functions: out= and PyTorch's keyword names -----------------------------------------------
def test_out_writes_into_the_given_tensor():
    x, y = tg.arange(6.0).reshape(2, 3), tg.full((2, 3), 0.5)
    result = tg.empty(2, 3)
    assert tg.add(x, y, out=result) is result and result.tolist()[1] == [3.5, 4.5, 5.5]
    product = tg.rand(2, 2)
    tg.matmul(x, x.T, out=product)
    assert product.tolist() == [[5.0, 14.0], [14.0, 50.0]]
    tg.mul(x, x, out=product)  # another shape: resized, as PyTorch
    assert product.shape == (2, 3) and product.tolist()[0] == [0.0, 1.0, 4.0]
    assert tg.matmul(input=x, other=x.T).shape == (2, 2) and tg.mm(x, x.T).shape == (2, 2)
    assert x.mm(x.T).tolist() == [[5.0, 14.0], [14.0, 50.0]]
    with pytest.raises(RuntimeError, match="mm: mat2 must be a matrix"):
        x.mm(tg.ones(3))
    assert tg.add(x, y, alpha=2).tolist()[0] == [1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        tg.add(tg.ones(2), 1.5, out=tg.empty(2, dtype=tg.long))
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic "
                                           "differentiation"):
        tg.mul(tg.ones(2, requires_grad=True), 2, out=tg.empty(2))


def test_div_rounding_modes_are_pytorchs():
    five = tg.tensor([5, -5])
    assert tg.div(five, 2, rounding_mode="floor").tolist() == [2, -3]
    assert tg.div(five, 2, rounding_mode="trunc").tolist() == [2, -2]
    assert tg.div(five, 2).tolist() == [2.5, -2.5]


# ----- devices, the PyTorch way ------------------------------------------------------------------
def test_devices_answer_as_on_a_machine_without_accelerators():
    assert not tg.accelerator.is_available() and tg.accelerator.current_accelerator() is None
    assert not tg.cuda.is_available() and not tg.backends.mps.is_available()
    tg.set_default_device("cpu")
    assert tg.get_default_device() == tg.device("cpu")
    cuda = tg.device("cuda")  # an object, as PyTorch builds it
    assert cuda.type == "cuda" and str(tg.device("cuda", 1)) == "cuda:1"
    assert repr(tg.device("cuda:0")) == "device(type='cuda', index=0)"
    for move in (lambda: tg.ones(2).to(cuda), lambda: nn.Linear(2, 2).to(cuda),
                 lambda: tg.ones(2, device=cuda), lambda: tg.set_default_device("cuda")):
        with pytest.raises(RuntimeError, match="CPU only.*cannot move data to 'cuda'"):
            move()
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        tg.device("gpu")


# ----- nn: PyTorch's dtype promotion in MSELoss --------------------------------------------------
def test_mse_loss_promotes_an_int64_target():
    output = tg.ones(1, 10, requires_grad=True)
    target = tg.arange(10).view(1, -1)  # int64, as in the blitz's neural network tutorial
    loss = nn.MSELoss()(output, target)
    assert loss.dtype == np.float32 and loss.item() == 20.5  # PyTorch 2.13: tensor(20.5000)
    x = tg.ones(3, requires_grad=True)
    nn.functional.mse_loss(x, tg.arange(3)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 / 3, 0, -2 / 3], rtol=1e-6)
    assert nn.functional.mse_loss(tg.ones(3), tg.arange(3, dtype=tg.float64)).dtype == np.float64


# ----- scatter (transforms_tutorial's one-hot target_transform) ----------------------------------
def _scatter_loop(x: np.ndarray, index: np.ndarray, src: np.ndarray, dim: int) -> np.ndarray:
    out = x.copy()
    for i, j in np.ndindex(*index.shape):
        out[(index[i, j], j) if dim == 0 else (i, index[i, j])] = src[i, j]
    return out


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_matches_a_loop_and_its_gradients_are_central_differences(dim):
    from helpers import check_op

    index = np.array([[2, 0, 1], [0, 1, 2]])  # no place written twice: one gradient
    check_op(lambda x, s: x.scatter(dim, tg.tensor(index), s),
             lambda x, s: _scatter_loop(x, index, s, dim), [(3, 3), (2, 4)])


def test_scatter_with_a_value_and_a_zero_d_index_makes_a_one_hot_row():
    one_hot = tg.zeros(10, dtype=tg.float).scatter_(0, tg.tensor(3), value=1)
    assert one_hot.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0] and one_hot.dtype == np.float32
    with pytest.raises(RuntimeError, match="out of bounds"):
        tg.zeros(3).scatter(0, tg.tensor([3]), value=1)
    with pytest.raises(TypeError, match="exactly one of src"):
        tg.zeros(3).scatter(0, tg.tensor([1]))



def test_scatter_refuses_an_index_larger_than_self_or_src_in_pytorchs_words():
    index = tg.tensor(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected index \[2, 3\] to be smaller "
                       r"than self \[3, 3\] apart from dimension 0 and to be smaller size than "
                       r"src \[2, 2\]"):
        tg.zeros(3, 3).scatter(0, index, tg.ones(2, 2))  # was NumPy's broadcast error
    with pytest.raises(RuntimeError, match=r"Expected index \[2, 3\] to be smaller than self "
                       r"\[3, 2\] apart from dimension 0$"):
        tg.zeros(3, 2).scatter(0, index, value=1.0)  # was NumPy's IndexError
    with pytest.raises(RuntimeError, match="same number of dimensions as src tensor"):
        tg.zeros(3, 3).scatter(0, index, tg.ones(6))

def test_randint_takes_pytorchs_two_forms():
    tg.manual_seed(0)
    draws = tg.randint(10, size=(1000,))
    assert draws.dtype == np.int64 and 0 <= draws.min().item() and draws.max().item() <= 9
    assert len(np.unique(draws.numpy())) == 10
    pairs = tg.randint(3, 5, (2, 2))
    assert pairs.shape == (2, 2) and set(pairs.numpy().ravel()) <= {3, 4}
    assert tg.randint(0, 2, (3,), dtype=tg.int32).dtype == np.int32


def test_bce_with_logits_promotes_between_floats_and_refuses_an_int_target():
    logits = tg.full((3,), 0.5, requires_grad=True)
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits, tg.tensor([0.0, 1.0, 1.0], dtype=tg.float64))
    assert loss.dtype == np.float64 and round(loss.item(), 4) == 0.6407  # PyTorch: 0.6407
    loss.backward()
    assert logits.grad.dtype == np.float32
    with pytest.raises(TypeError, match="same dtype, got input float32, target int64"):
        nn.functional.binary_cross_entropy_with_logits(logits, tg.tensor([0, 1, 1]))


def test_div_floor_has_pytorchs_zero_gradient():
    """tg.div(x, y, rounding_mode="floor") backpropagates zeros (PyTorch 2.13:
    x.grad == y.grad == [0., 0.]); the `//` operator's own backward refuses, as floor_divide's."""
    x = tg.tensor([5.0, -3.0], requires_grad=True)
    y = tg.tensor([2.0, 2.0], requires_grad=True)
    z = tg.div(x, y, rounding_mode="floor")
    assert z.tolist() == [2.0, -2.0] and z.requires_grad
    z.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and y.grad.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
        (x // y).sum().backward()
