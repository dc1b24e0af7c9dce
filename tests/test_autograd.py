"""The engine: accumulation, fan-out, diamonds, grad modes, deep graphs and its error messages."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import uniform

from tinygrad_cnn import Function, Tensor, enable_grad, is_grad_enabled, no_grad
from tinygrad_cnn.autograd import toposort, unbroadcast


def leaf(*shape: int, seed: int = 0) -> Tensor:
    return Tensor(uniform(*shape, seed=seed), requires_grad=True, dtype=np.float64)


# ----- graph semantics -----------------------------------------------------------------------
def test_fan_out_mul_accumulates_both_uses():
    x = leaf(3)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_fan_out_add():
    x = leaf(3)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(3, 2.0))


def test_fan_out_three_uses_and_scalar_broadcast():
    x = leaf(2, 3)
    b = leaf(3, seed=1)
    (x * b + x * 2.0 + x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.broadcast_to(b.data + 3.0, (2, 3)))
    np.testing.assert_allclose(b.grad.data, x.data.sum(axis=0))


def test_diamond_graph():
    # x -> a = x * 2 -> out = a * c + a.exp() ; c = x + 1 shares x: d out/dx by hand
    x = leaf(4)
    a = x * 2.0
    c = x + 1.0
    out = (a * c + a.exp()).sum()
    out.backward()
    expected = 2.0 * c.data + a.data + 2.0 * np.exp(a.data)
    np.testing.assert_allclose(x.grad.data, expected)


def test_accumulates_over_two_backward_calls_with_retain_graph():
    x = leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data)


def test_accumulates_over_two_forward_passes():
    x = leaf(3)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 3.0)


def test_grad_is_a_fresh_array_each_leaf():
    # Add hands the same grad_out array to both inputs; the leaves must not share it
    x, y = leaf(3), leaf(3, seed=1)
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad.data, y.grad.data)
    x.grad.data += 1.0
    np.testing.assert_array_equal(y.grad.data, np.ones(3))


def test_grad_does_not_alias_a_saved_array_or_the_seed():
    x = leaf(3)
    seed = np.ones(3)
    y = x * 1.0
    y.backward(seed)
    assert not np.shares_memory(x.grad.data, seed)
    x.grad.data[:] = 5.0
    np.testing.assert_array_equal(seed, np.ones(3))


def test_unused_parameter_keeps_grad_none():
    x, unused = leaf(3), leaf(3, seed=1)
    (x * 2.0).sum().backward()
    assert unused.grad is None and x.grad is not None


def test_input_without_requires_grad_gets_no_grad():
    x, c = leaf(3), Tensor(np.ones(3))
    (x * c).sum().backward()
    assert c.grad is None


def test_non_leaf_keeps_no_grad_unless_retained():
    x = leaf(3)
    hidden = x * 2.0
    kept = (x * 3.0).retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None
    np.testing.assert_allclose(kept.grad.data, hidden.data)


def test_chain_of_10000_ops_has_no_recursion_error():
    x = Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**10_000, rtol=1e-9)


def test_deep_graph_of_two_branch_adds():
    # each level uses the previous value twice (fan-out) through different ops
    x = Tensor(0.5, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(10_000):
        y = (y * 0.5 + y.tanh() * 0.0) + y * 0.5
    y.backward()
    assert len(toposort(y)) > 10_000
    np.testing.assert_allclose(x.grad.item(), 1.0)


def test_toposort_is_deterministic_and_inputs_come_first():
    a, b = leaf(2), leaf(2, seed=1)
    c = a * b
    d = c + a
    order = toposort(d)
    assert order == [a, b, c, d]
    assert toposort(d) == order


def test_backward_frees_saved_arrays_and_a_second_backward_says_so():
    x = leaf(3)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"Mul a second time.*retain_graph=True"):
        y.backward()


def test_backward_on_non_scalar_without_grad():
    x = leaf(2, 3)
    with pytest.raises(RuntimeError, match=r"one-element output.*shape \(2, 3\)"):
        (x * 2.0).backward()
    (x * 2.0).backward(np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))


def test_backward_grad_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        (leaf(2, 3) * 2.0).backward(np.ones(3))


def test_backward_on_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()


# ----- grad modes ----------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = leaf(3)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2.0
    assert is_grad_enabled()
    assert y._ctx is None and y.grad_fn is None and not y.requires_grad and y.is_leaf


def test_no_grad_as_decorator():
    @no_grad()
    def f(t: Tensor) -> Tensor:
        return t.exp() * t

    y = f(leaf(3))
    assert y.grad_fn is None and not y.requires_grad and is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf(3)
    with no_grad():
        with enable_grad():
            y = x * 2.0
        z = x * 2.0
        assert not is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad


def test_enable_grad_as_decorator_inside_no_grad():
    @enable_grad()
    def f(t: Tensor) -> Tensor:
        return t * 2.0

    with no_grad():
        y = f(leaf(3))
        assert not is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError), no_grad():
        raise KeyError("inside no_grad")
    assert is_grad_enabled()


def test_detach_shares_data_but_cuts_the_graph():
    x = leaf(3)
    y = x * 2.0
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.data, y.data)
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad.data, y.data)  # d counted as a constant


# ----- the engine's checks -------------------------------------------------------------------
class WrongShape(Function):
    """out = 2x; backward deliberately returns a gradient of the wrong shape."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 2 * x + y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> tuple:
        return grad_out, np.ones(7)


class TooFewGrads(Function):
    """out = x + y; backward returns one gradient for two inputs."""

    @staticmethod
    def forward(ctx: Function, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    @staticmethod
    def backward(ctx: Function, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


def test_wrong_gradient_shape_names_op_and_input_index():
    x, y = leaf(2, 3), leaf(3, seed=1)
    with pytest.raises(RuntimeError, match=r"WrongShape.*\(7,\) for input 1.*shape \(3,\)"):
        WrongShape.apply(x, y).sum().backward()


def test_wrong_number_of_gradients():
    with pytest.raises(RuntimeError, match="TooFewGrads.backward returned 1 gradients for 2"):
        TooFewGrads.apply(leaf(2), leaf(2, seed=1)).sum().backward()


@pytest.mark.parametrize("grad_shape, shape, expected", [
    ((2, 3), (2, 3), (2, 3)), ((2, 3), (3,), (3,)), ((2, 3), (1, 3), (1, 3)),
    ((4, 2, 3), (2, 1), (2, 1)), ((2, 3), (), ()), ((2, 3), (4,), None), ((3,), (2, 3), None),
])
def test_unbroadcast(grad_shape, shape, expected):
    grad = uniform(*grad_shape)
    out = unbroadcast(grad, shape)
    if expected is None:
        assert out is None
        return
    reference = grad
    while reference.ndim > len(shape):
        reference = reference.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            reference = reference.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(out, reference)


def test_backward_after_an_optimizer_step_says_the_input_changed() -> None:
    from tinygrad_cnn import nn, optim

    hidden, layer = nn.Linear(3, 3), nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(hidden(Tensor(np.ones((4, 3), np.float32)))).sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the weight that hidden's gradient reads, in place
    with pytest.raises(RuntimeError, match=r"Linear: input 1 \(shape \(2, 3\)\) was modified"):
        loss.backward()


def test_a_step_between_backwards_of_a_first_layer_keeps_its_gradient() -> None:
    """Data input: the weight's gradient is g^T x whatever the weight holds; PyTorch's linear
    saves the weight only when x needs a gradient, so it gives the same 8s."""
    from tinygrad_cnn import nn, optim

    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(Tensor(np.ones((4, 3), np.float32))).sum()
    loss.backward(retain_graph=True)
    opt.step()
    loss.backward()  # accumulates a second g^T x = 4
    np.testing.assert_array_equal(layer.weight.grad.data, np.full((2, 3), 8.0))


def test_ops_that_saved_nothing_still_backward_after_an_update() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    out = (w + 1.0).sum()
    w.data += 1.0
    w._version += 1
    out.backward()  # Add saved nothing: its gradient does not depend on w's value
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])


def test_no_grad_and_enable_grad_as_bare_decorators() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)

    @no_grad
    def frozen(t: Tensor) -> Tensor:
        return t * 2

    @enable_grad
    def recorded(t: Tensor) -> Tensor:
        return t * 2

    assert frozen(x).requires_grad is False and frozen(x).grad_fn is None
    with no_grad():
        assert recorded(x).grad_fn is not None and is_grad_enabled() is False
