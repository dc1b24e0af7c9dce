"""More PyTorch-named ops: gelu, norm, cumsum, narrow, index_select, mT. Forward vs NumPy and
float64 gradcheck through check_op; edge cases against PyTorch 2.13's numbers, written down."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import check_op

from tinygrad_cnn import Tensor, nn, ops

INF = float("inf")
SHAPES = [(), (5,), (2, 3), (3, 1, 4)]


def _gelu(a, approximate="none"):
    if approximate == "tanh":
        return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))
    erf = np.vectorize(math.erf)
    return a * 0.5 * (1 + erf(a / math.sqrt(2)))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(shape, approximate):
    check_op(lambda x: ops.gelu(x, approximate), lambda a: _gelu(a, approximate), [shape],
             domain=(-4, 4))
    assert repr(nn.GELU(approximate)) == f"GELU(approximate={approximate!r})"


def test_gelu_matches_pytorch_and_refuses_other_forms():
    # torch.nn.functional.gelu([-3, -0.5, 0, 1, 2.5]) and the gradient of its sum
    x = Tensor([-3.0, -0.5, 0.0, 1.0, 2.5], dtype=np.float64, requires_grad=True)
    out = nn.functional.gelu(x)
    out.sum().backward()
    np.testing.assert_allclose(out.data, [-0.0040496941, -0.1542687694, 0.0, 0.8413447461,
                                          2.4844758367], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, [-0.0119456472, 0.1325048753, 0.5, 1.0833154706,
                                             1.0376110859], rtol=1e-8)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        ops.gelu(x, "erf")


@pytest.mark.parametrize("p", [2, 1, 3, INF, -INF, "fro"])
@pytest.mark.parametrize("shape, dim", [((5,), None), ((2, 3), 1), ((2, 3, 4), (0, 2)),
                                        ((3, 4), None)], ids=str)
def test_norm(p, shape, dim):
    q = 2 if p == "fro" else p

    def reference(a):
        size = np.abs(a)
        if np.isinf(q):
            return (size.max if q > 0 else size.min)(axis=dim)
        return (size ** q).sum(axis=dim) ** (1 / q)

    check_op(lambda x: x.norm(p, dim), reference, [shape], margin=0.3)


def test_norm_edges_are_pytorchs():
    def grad(values, **kwargs):
        x = Tensor(values, dtype=np.float64, requires_grad=True)
        out = x.norm(**kwargs)
        out.backward()
        return out.item(), x.grad.tolist()

    assert grad([0.0, 0.0, 0.0]) == (0.0, [0.0, 0.0, 0.0])  # 0 at a zero norm, not nan
    assert grad([0.0, 3.0, -4.0], p=1) == (7.0, [0.0, 1.0, -1.0])
    assert grad([0.0, 3.0, -4.0, 4.0], p=INF) == (4.0, [0.0, 0.0, -0.5, 0.5])  # ties share
    value, g = grad([0.0, 3.0, -4.0], p=3)
    np.testing.assert_allclose([value, *g], [4.4979414, 0.0, 0.4448513, -0.7908468], rtol=1e-6)
    assert Tensor([[1.0, 2.0], [3.0, 4.0]]).norm(2, 1, True).shape == (2, 1)
    for bad, message in (("nuc", "nuclear norm is not supported"), (0, "p must be > 0")):
        with pytest.raises(ValueError, match=message):
            Tensor([1.0]).norm(bad)


@pytest.mark.parametrize("shape, dim", [((5,), 0), ((2, 3), 1), ((2, 3), -2), ((2, 3, 4), 1)],
                         ids=str)
def test_cumsum(shape, dim):
    check_op(lambda x: x.cumsum(dim), lambda a: np.cumsum(a, axis=dim), [shape])


def test_cumsum_dtypes_and_zero_dim_are_pytorchs():
    assert Tensor([1, 2, 3], dtype=np.int32).cumsum(0).dtype == np.int64
    assert Tensor([True, True], dtype=np.bool_).cumsum(0).tolist() == [1, 2]
    x = Tensor(5.0, requires_grad=True)
    out = x.cumsum(0)
    out.backward()
    assert out.shape == () and out.item() == 5.0 and x.grad.item() == 1.0


def test_narrow_is_a_view_with_pytorchs_checks():
    base = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    piece = base.narrow(1, -2, 2)  # start may count from the end
    np.testing.assert_array_equal(piece.data, [[2, 3], [6, 7], [10, 11]])
    assert np.shares_memory(piece.data, base.data)
    piece.sum().backward()
    np.testing.assert_array_equal(base.grad.data, [[0, 0, 1, 1]] * 3)
    with pytest.raises(RuntimeError, match=r"start \(3\) \+ length \(2\) exceeds dimension size "
                       r"\(4\)"):
        base.narrow(1, 3, 2)
    with pytest.raises(RuntimeError, match=r"narrow\(\): length must be non-negative"):
        base.narrow(1, 1, -1)  # PyTorch's words; was "start (1) + length (-1) exceeds ..."
    with pytest.raises(IndexError, match="narrow: dimension out of range"):
        base.narrow(2, 0, 1)


def test_index_select_adds_repeated_gradients():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    picked = x.index_select(1, np.array([2, 0, 2]))
    np.testing.assert_array_equal(picked.data, [[2, 0, 2], [6, 4, 6], [10, 8, 10]])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 0, 2, 0]] * 3)
    assert Tensor(np.ones((3, 2))).index_select(0, np.array(1)).shape == (1, 2)
    assert Tensor(5.0).index_select(0, np.array([0])).shape == ()  # as PyTorch
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        x.index_select(1, np.array([4]))
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        x.index_select(1, np.array([[0]]))
    with pytest.raises(TypeError, match="Expected dtype int32 or int64 for index, got float32"):
        x.index_select(1, np.array([0.0], np.float32))


def test_mT_swaps_the_last_two_dims():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.mT.shape == (2, 4, 3)
    np.testing.assert_array_equal(x.mT.data, np.swapaxes(x.data, -1, -2))


def test_float32_erf_is_within_its_epsilon_and_float64_is_exact():
    from tinygrad_cnn.ops.activation import erf

    x = np.linspace(-8, 8, 20001)
    exact = np.array([math.erf(v) for v in x])
    assert erf(x.astype(np.float32)).dtype == np.float32
    assert np.abs(erf(x.astype(np.float32)).astype(np.float64) - exact).max() < 2e-7
    np.testing.assert_array_equal(erf(x), exact)
