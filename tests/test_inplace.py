"""In-place ops and views with PyTorch's rules: the data changes in place, the version counter
(shared by a tensor and its views) is bumped, and graphs that need the old values refuse."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor, nn, no_grad, optim

LEAF = "a leaf Variable that requires grad is being used in an in-place operation"


def test_the_tutorial_sgd_loop_updates_the_weights():
    model = nn.Linear(3, 2)
    weight, bias = model.weight.data.copy(), model.bias.data.copy()
    model(Tensor(np.ones((4, 3)))).sum().backward()
    with no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    # d sum / d weight = 4 (four rows of ones), d sum / d bias = 4
    np.testing.assert_allclose(model.weight.data, weight - 0.4, rtol=1e-6)
    np.testing.assert_allclose(model.bias.data, bias - 0.4, rtol=1e-6)
    assert model.weight._version == 1


@pytest.mark.parametrize("name, update, expected", [
    ("+=", lambda x: x.__iadd__(2), [3.0, 4.0]),
    ("-=", lambda x: x.__isub__(2), [-1.0, 0.0]),
    ("*=", lambda x: x.__imul__(2), [2.0, 4.0]),
    ("/=", lambda x: x.__itruediv__(2), [0.5, 1.0]),
    ("add_", lambda x: x.add_(Tensor([1.0, 1.0])), [2.0, 3.0]),
    ("add_ alpha", lambda x: x.add_(Tensor([1.0, 1.0]), alpha=-0.5), [0.5, 1.5]),
    ("sub_", lambda x: x.sub_(1), [0.0, 1.0]),
    ("mul_", lambda x: x.mul_(3), [3.0, 6.0]),
    ("div_", lambda x: x.div_(4), [0.25, 0.5]),
    ("zero_", lambda x: x.zero_(), [0.0, 0.0]),
    ("fill_", lambda x: x.fill_(7), [7.0, 7.0]),
    ("copy_", lambda x: x.copy_(Tensor([5.0, 6.0])), [5.0, 6.0]),
    ("copy_ broadcast", lambda x: x.copy_(9), [9.0, 9.0]),
    ("clamp_", lambda x: x.clamp_(1.5, 1.8), [1.5, 1.8]),
    ("clamp_ min", lambda x: x.clamp_(min=1.5), [1.5, 2.0]),
])
def test_in_place_changes_the_array_itself(name, update, expected):
    x = Tensor([1.0, 2.0])
    array = x.data
    assert update(x) is x
    assert x.data is array and x.dtype == np.float32
    np.testing.assert_allclose(array, expected)
    assert x._version == 1


def test_leaf_that_requires_grad_refuses_in_grad_mode_and_stays_unchanged():
    w = Tensor([1.0, 2.0], requires_grad=True)
    for update in (lambda: w.__iadd__(1), lambda: w.zero_(), lambda: w.copy_(3.0)):
        with pytest.raises(RuntimeError, match=LEAF):
            update()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0
    with no_grad():
        w.mul_(2)
    np.testing.assert_array_equal(w.data, [2.0, 4.0])


def test_non_leaf_in_place_is_recorded_in_the_graph():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    b += a  # b = 3a + a
    b *= b  # b = (4a)^2 = 16 a^2, d/da = 32 a
    b.sum().backward()
    np.testing.assert_allclose(a.grad.data, [32.0, 64.0])
    assert b.grad_fn.name == "Mul"


def test_in_place_with_an_input_that_requires_grad_gives_it_a_gradient():
    x = Tensor([1.0, 2.0])
    w = Tensor([3.0, 4.0], requires_grad=True)
    x *= w  # x was a constant; now x = x0 * w
    assert x.requires_grad and not x.is_leaf
    x.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 2.0])


def test_in_place_on_a_saved_output_refuses_backward():
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()  # Exp saves its output for backward
    y += 1
    with pytest.raises(RuntimeError, match="Exp: its output was modified by an in-place"):
        y.sum().backward()


# Ops recorded before an in-place update send their gradients to the tensor as it was (PyTorch's
# graph edges point at the old grad_fn). The expected numbers are PyTorch 2.13's.
def _used_then_updated():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    c = b + 1  # Add saved nothing: its gradient goes to b's old origin, 3a
    b *= 2
    (c.sum() + b.sum()).backward()
    return a.grad


def _updated_twice():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * 3  # Mul(b, 3): b's value is read only for the gradient of the constant 3
    b += a
    b *= 4  # b = 12a
    d = b * b
    (c.sum() + d.sum()).backward()
    return a.grad


def _base_updated_under_a_view():
    a = Tensor([1.0, 2.0], requires_grad=True)
    base = a * 1
    c = base[0:1] + 1
    base += 5
    c.sum().backward()
    return a.grad


def _zeroed_then_refilled():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b + 0
    b.zero_()
    b += a
    (c.sum() * b.sum()).backward()  # sum(2a) * sum(a): 12 for each element
    return a.grad


def _setitem_after_use():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * 5
    b[0] = 7.0
    (c.sum() + b.sum()).backward()
    return a.grad


def _copy_after_use():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * 5
    b.copy_(a * a)
    (c.sum() + b.sum()).backward()
    return a.grad


def _updated_under_no_grad():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    c = b + 1
    with no_grad():
        b *= 2  # the history of b is unchanged; Add needs no value
    c.sum().backward()
    return a.grad


def _divided_then_updated():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b / 3  # Div reads b only for the gradient of the constant 3
    b += 1
    c.sum().backward()
    return a.grad


@pytest.mark.parametrize("run, expected", [
    (_used_then_updated, [9.0, 9.0]),
    (_updated_twice, [294.0, 582.0]),
    (_base_updated_under_a_view, [1.0, 0.0]),
    (_zeroed_then_refilled, [12.0, 12.0]),
    (_setitem_after_use, [10.0, 12.0]),
    (_copy_after_use, [12.0, 14.0]),
    (_updated_under_no_grad, [3.0, 3.0]),
    (_divided_then_updated, [2 / 3, 2 / 3]),
], ids=lambda v: getattr(v, "__name__", "")[1:])
def test_ops_used_before_an_in_place_update_get_the_old_history(run, expected):
    np.testing.assert_allclose(run().data, expected, rtol=1e-6)


def test_micrograds_in_place_test_gives_pytorchs_numbers():
    """micrograd's test_more_ops, in-place lines kept (float64); PyTorch's values."""
    a = Tensor([-4.0], dtype=np.float64, requires_grad=True)
    b = Tensor([2.0], dtype=np.float64, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    np.testing.assert_allclose(g.data, [24.70408163265306], rtol=1e-12)
    np.testing.assert_allclose(a.grad.data, [138.83381924198252], rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, [645.5772594752186], rtol=1e-12)


@pytest.mark.parametrize("when", ["grad mode", "no_grad"])
def test_in_place_on_a_value_a_gradient_reads_refuses_backward(when):
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b  # both gradients read b
    if when == "no_grad":
        with no_grad():
            b += 1
    else:
        b += 1
    with pytest.raises(RuntimeError, match=r"Mul: input 0 \(shape \(2,\)\) was modified in "
                       "place"):
        c.sum().backward()


def test_clone_then_in_place_is_fine():
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = a.exp()
    z = y.clone()
    z += 1
    (y + z).sum().backward()
    np.testing.assert_allclose(a.grad.data, 2 * np.exp([1.0, 2.0]), rtol=1e-6)


@pytest.mark.parametrize("make_view", [
    lambda w: w.T, lambda w: w.transpose(0, 1), lambda w: w.permute(1, 0),
    lambda w: w.reshape(6), lambda w: w.view(3, 2), lambda w: w[0], lambda w: w[:, 1:],
    lambda w: w.unsqueeze(0), lambda w: w.flatten(), lambda w: w[None].squeeze(0),
    lambda w: w.expand(4, 2, 3), lambda w: w.detach(),
], ids=["T", "transpose", "permute", "reshape", "view", "index", "slice", "unsqueeze",
        "flatten", "squeeze", "expand", "detach"])
def test_views_share_the_version_counter_with_their_base(make_view):
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    view = make_view(w)
    with no_grad():
        w += 1
    assert view._version == w._version == 1
    assert np.shares_memory(view.data, w.data)  # and the memory


def test_a_copying_index_gets_its_own_counter():
    w = Tensor(np.arange(6.0).reshape(2, 3))
    picked = w[[0, 1], [0, 0]]  # integer-array indexing copies, as in NumPy and PyTorch
    w += 1
    assert picked._version == 0 and picked.tolist() == [0.0, 3.0]


def test_optimizer_step_invalidates_a_graph_through_a_transposed_weight():
    x = Tensor(np.ones((4, 3)), requires_grad=True)  # x's gradient reads w
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (x @ w.T).sum()
    y.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"MatMul: input 1 \(shape \(3, 2\)\) was modified"):
        y.backward()


def test_a_step_leaves_a_graph_whose_gradients_do_not_read_the_weight_usable():
    """x @ w.T with data x: w's gradient is x^T g, whatever w holds (PyTorch saves only x)."""
    x = Tensor(np.array([[1.0, 2.0, 3.0]] * 4))
    w = Tensor(np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (x @ w.T).sum()
    y.backward(retain_graph=True)
    opt.step()
    y.backward()
    np.testing.assert_allclose(w.grad.data, [[8.0, 16.0, 24.0]] * 2)  # twice x^T g


@pytest.mark.parametrize("make_opt", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p), lambda p: optim.AdamW(p),
])
def test_every_optimizer_bumps_the_shared_counter(make_opt):
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    view = w.T
    w.grad = Tensor(np.ones((2, 3)))
    make_opt([w]).step()
    assert w._version == view._version == 1


def test_in_place_on_a_view_changes_the_base():
    base = Tensor(np.zeros((2, 3)))
    base[0] += 5
    base.T[2] -= 1
    np.testing.assert_array_equal(base.data, [[5, 5, 4], [0, 0, -1]])
    assert base._version == 4  # each line: += on the view, then setitem (PyTorch counts 2 too)


def test_setitem_as_pytorch():
    x = Tensor(np.zeros(4))
    x[1] = 3
    x[2:] = Tensor([7.0, 8.0])
    x[np.array([True, False, False, False])] = -1
    np.testing.assert_array_equal(x.data, [-1, 3, 7, 8])
    assert x._version == 3


def test_setitem_in_the_graph_routes_gradients():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor(np.zeros(3))
    x[1:] = w * 2
    (x * Tensor([10.0, 20.0, 30.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [40.0, 60.0])


def test_setitem_on_a_leaf_that_requires_grad_refuses():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF):
        w[0] = 5
    with no_grad():
        w[0] = 5
    assert w.tolist() == [5.0, 2.0]


def test_in_place_on_an_expanded_view_refuses():
    x = Tensor([1.0, 2.0]).expand(3, 2)
    with pytest.raises(RuntimeError, match="read-only.*clone"):
        x += 1


def test_in_place_cannot_change_the_shape():
    x = Tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"output with shape \(2,\) doesn't match the "
                       r"broadcast shape \(3, 2\)"):
        x += Tensor(np.ones((3, 2)))
    assert x.tolist() == [1.0, 2.0]


def test_in_place_on_a_view_in_grad_mode_says_it_is_unsupported():
    a = Tensor([[1.0, 2.0]], requires_grad=True)
    b = a * 1
    with pytest.raises(RuntimeError, match="view.*not supported"):
        b.T.__iadd__(1)


def test_a_refused_in_place_update_leaves_the_graph_usable():
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        y += Tensor(np.ones((3, 2)))
    y.sum().backward()  # nothing was written, so Exp's saved output is still right
    np.testing.assert_allclose(x.grad.data, np.exp([0.0, 1.0]), rtol=1e-6)
