"""Higher-order gradients through conv2d and pooling: their backwards are ops (ConvTransposeInput,
ConvWeightGrad, the unpool and gather ops) whose own backwards are ops again, so gradgradcheck
passes in float64 over strides, padding, dilation, groups, every conv algorithm and every pooling
option, and Hessian-vector products equal PyTorch 2.13's (written down below; made by
benchmarks/higher_order_reference_conv.py, which runs only under the torch venv)."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor, autograd, ops
from tinygrad_cnn.gradcheck import gradgradcheck
from tinygrad_cnn.ops.loss import CrossEntropy
from tinygrad_cnn.ops.matmul import Linear

ALGORITHMS = ["naive", "im2col", "taps", "toeplitz", "hybrid"]


def fixed(shape: tuple, seed: int, scale: float = 1.0) -> np.ndarray:
    """The reference script's inputs: the fractional part of a scaled sine, in [-scale, scale)."""
    i = np.arange(int(np.prod(shape)), dtype=np.float64)
    frac = np.modf(np.abs(np.sin(i * 12.9898 + seed * 78.233 + 1.0)) * 43758.5453)[0]
    return (scale * (2 * frac - 1)).reshape(shape)


# ----- gradgradcheck: second derivatives against float64 central differences ---------------------
# (x shape, weight shape, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 0, 1, 1),
    ((1, 2, 7, 6), (2, 2, 3, 2), 2, 1, 1, 1),
    ((1, 2, 7, 7), (2, 2, 2, 3), (1, 2), (1, 0), 2, 1),
    ((2, 4, 5, 5), (4, 2, 3, 3), 1, 1, 1, 2),
    ((1, 3, 6, 5), (3, 1, 2, 2), 2, 1, (2, 1), 3),  # depthwise, strided, dilated
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CONV_CASES)
def test_gradgradcheck_conv2d(algorithm, x_shape, w_shape, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, (w_shape[0],)))

    def f(x, w, b):  # squared, so every block of the Hessian is nonzero
        out = ops.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, algorithm=algorithm)
        return out * out

    assert gradgradcheck(f, [x, w, b])


@pytest.mark.parametrize("algorithm", ["taps", "toeplitz"])
def test_third_order_through_conv2d(algorithm):
    """The gradient ops' backwards are ops too: a gradient of a gradient differentiates again."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3))

    def first_order(x, w):
        x = x if x.requires_grad else x.detach().requires_grad_()
        out = ops.conv2d(x, w, padding=1, algorithm=algorithm)
        (grad_x,) = autograd.grad((out * out * out).sum(), x, create_graph=True)
        return grad_x * grad_x  # a gradient penalty, so every gradient op is differentiated

    assert gradgradcheck(first_order, [x, w])


MAX_POOLS = [
    dict(kernel_size=2),  # the 2x2 fast path (even sizes)
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 0)),
]
AVG_POOLS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=1, padding=1, divisor_override=3),
]


@pytest.mark.parametrize("shape", [(2, 2, 6, 6), (1, 2, 7, 5)])
@pytest.mark.parametrize("params", MAX_POOLS)
def test_gradgradcheck_max_pool2d(params, shape):
    x = np.random.default_rng(2).standard_normal(shape)
    assert gradgradcheck(lambda x: ops.max_pool2d(x * x, **params) ** 2, [x])


@pytest.mark.parametrize("params", AVG_POOLS)
def test_gradgradcheck_avg_pool2d(params):
    x = np.random.default_rng(3).standard_normal((2, 2, 7, 6))
    assert gradgradcheck(lambda x: ops.avg_pool2d(x * x, **params) ** 2, [x])


@pytest.mark.parametrize("output_size", [(1, 1), (3, 4), (5, 2)])  # (3, 4), (5, 2): overlapping
def test_gradgradcheck_adaptive_avg_pool2d(output_size):
    x = np.random.default_rng(4).standard_normal((2, 2, 7, 6))
    assert gradgradcheck(lambda x: ops.adaptive_avg_pool2d(x * x, output_size) ** 2, [x])


@pytest.mark.parametrize("pool", [lambda x: ops.max_pool2d(x, 3, 2, 1),
                                  lambda x: ops.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                                  lambda x: ops.adaptive_avg_pool2d(x, (3, 2))])
def test_third_order_through_pooling(pool):
    """Unpool's gradient is a gather (a pooling) whose gradient is the unpool again."""
    x = np.random.default_rng(7).standard_normal((1, 2, 6, 5))

    def first_order(x):
        x = x if x.requires_grad else x.detach().requires_grad_()
        (grad_x,) = autograd.grad((pool(x) ** 3).sum(), x, create_graph=True)
        return grad_x * grad_x  # a gradient penalty: the unpool's own gradient then depends on x

    assert gradgradcheck(first_order, [x])


def test_gradgradcheck_conv_relu_pool_stack():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    assert gradgradcheck(
        lambda x, w: ops.max_pool2d(ops.relu(ops.conv2d(x, w, padding=1)), 2) ** 2, [x, w])


# ----- the gradient's graph is made of the fast kernels' ops -------------------------------------
@pytest.mark.parametrize("groups", [1, 2])
def test_the_gradient_graph_holds_the_conv_gradient_ops(groups):
    x = Tensor(np.ones((1, 2, 5, 5)), requires_grad=True)
    w = Tensor(np.ones((2, 2 // groups, 3, 3)), requires_grad=True)
    out = ops.conv2d(x, w, groups=groups, algorithm="toeplitz")
    grad_x, grad_w = autograd.grad((out * out).sum(), [x, w], create_graph=True)
    assert grad_x.grad_fn.name == "ConvTransposeInput[toeplitz]"
    assert grad_w.grad_fn.name == "ConvWeightGrad[toeplitz]"
    (second_w,) = autograd.grad(grad_x.sum(), w)  # through ConvTransposeInput's own backward
    assert second_w.shape == w.shape and np.abs(second_w.data).sum() > 0


def test_the_gradient_graph_holds_the_unpool_ops():
    x = Tensor(np.arange(32.0).reshape(1, 2, 4, 4), requires_grad=True)
    names = []
    for pool in (lambda x: ops.max_pool2d(x, 2), lambda x: ops.avg_pool2d(x, 2),
                 lambda x: ops.adaptive_avg_pool2d(x, 2)):
        (g,) = autograd.grad((pool(x) ** 2).sum(), x, create_graph=True)
        names.append(g.grad_fn.name)
    assert names == ["MaxUnpool2d", "AvgUnpool2d", "AdaptiveAvgUnpool2d"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_first_order_kernels_and_the_graph_ops_agree(algorithm):
    """A plain backward runs the kernels and builds no graph; create_graph gives the same numbers
    through the ops (max pooling over the conv's own memory layout, the 2x2 fast path)."""
    rng = np.random.default_rng(6)
    values = [rng.standard_normal(s) for s in ((2, 3, 8, 8), (4, 3, 3, 3), (4,))]
    results = []
    for create_graph in (False, True):
        leaves = [Tensor(v, requires_grad=True, dtype=np.float64) for v in values]
        out = ops.max_pool2d(ops.conv2d(*leaves, padding=1, algorithm=algorithm), 2)
        (out * out).sum().backward(create_graph=create_graph)
        assert all((t.grad.grad_fn is not None) == create_graph for t in leaves)
        results.append([t.grad.data for t in leaves])
    for first, graph in zip(*results):
        np.testing.assert_allclose(graph, first, rtol=1e-12, atol=1e-12)


STACKS = {
    "conv_maxpool": lambda x, w, b: ops.max_pool2d(ops.conv2d(x, w, b, padding=1), 3, 2, 1),
    "grouped_conv_avgpool": lambda x, w, b: ops.avg_pool2d(
        ops.conv2d(x, w[:, :1], b, dilation=2, padding=2, groups=2, algorithm="taps"), 2,
        ceil_mode=True, count_include_pad=False),
    "strided_conv_adaptive": lambda x, w, b: ops.adaptive_avg_pool2d(
        ops.conv2d(x, w, b, stride=2, padding=1, algorithm="im2col"), (2, 3)),
    "conv_2x2_maxpool": lambda x, w, b: ops.max_pool2d(
        ops.conv2d(x, w, b, padding=1, algorithm="toeplitz"), 2),
}


def nth_gradients(f, values: list, order: int, create_last: bool) -> list:
    """Gradients of order `order`: each order differentiates the squared norm of the previous
    gradients (double backprop); the last one with or without create_graph."""
    leaves = [Tensor(v, requires_grad=True, dtype=np.float64) for v in values]
    out = (f(*leaves) ** 2).sum()
    for k in range(order):
        create = create_last or k < order - 1
        grads = autograd.grad(out, leaves, create_graph=create, materialize_grads=True)
        out = sum(((g * g).sum() for g in grads), leaves[0].sum() * 0.0)
    return [g.data for g in grads]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("name", list(STACKS))
def test_each_order_agrees_between_the_kernels_and_the_graph_ops(name, order):
    """At every order the ops' graph backwards (create_graph) give the numbers their NumPy
    backwards give: gradgradcheck alone would miss a graph backward off by a factor, since its
    finite differences run through the same graph backwards."""
    rng = np.random.default_rng(8)
    values = [rng.standard_normal(s) for s in ((2, 2, 6, 6), (4, 2, 3, 3), (4,))]
    kernels = nth_gradients(STACKS[name], values, order, create_last=False)
    graph_ops = nth_gradients(STACKS[name], values, order, create_last=True)
    for a, b in zip(kernels, graph_ops):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


# ----- Hessian-vector products against PyTorch 2.13 ----------------------------------------------
def hvp(f, values: list, vectors: list) -> tuple:
    """(f, its gradients, the Hessian-vector product), as the reference script computes them:
    g = grad(f, inputs, create_graph=True), then grad(g, inputs, v)."""
    leaves = [Tensor(v, requires_grad=True, dtype=np.float64) for v in values]
    out = f(*leaves)
    grads = autograd.grad(out, leaves, create_graph=True)
    # a gradient that does not depend on the inputs (a bias's, through relu masks) adds nothing
    pairs = [(g, Tensor(v, dtype=np.float64)) for g, v in zip(grads, vectors) if g.requires_grad]
    products = autograd.grad([g for g, _ in pairs], leaves, grad_outputs=[v for _, v in pairs],
                             allow_unused=True, materialize_grads=True)
    return out.item(), [g.data for g in grads], [p.data for p in products]


def summary(a: np.ndarray) -> list:
    """The reference script's summary: sum, sum of |.|, the dot product with fixed(shape, 99)
    and the first four entries."""
    return [a.sum(), np.abs(a).sum(), (a * fixed(a.shape, 99)).sum(), *a.ravel()[:4]]


SMALL = {
    "conv_relu_maxpool_sum": (
        lambda x, w, b: ops.max_pool2d(ops.relu(ops.conv2d(x, w, b, padding=1)), 2).sum(),
        [(2, 2, 5, 5), (3, 2, 3, 3), (3,)], 21.1719610838),
    "grouped_dilated_avgpool_square": (
        lambda x, w, b: (ops.avg_pool2d(ops.relu(ops.conv2d(x, w, b, padding=2, dilation=2,
                                                            groups=2)), 3, 2, 1,
                                        count_include_pad=False) ** 2).sum(),
        [(2, 4, 6, 6), (4, 2, 3, 3), (4,)], 12.7465971944),
    "strided_pool_ceil_adaptive_square": (
        lambda x, w, b: (ops.adaptive_avg_pool2d(ops.max_pool2d(ops.relu(ops.conv2d(
            x, w, b, stride=2, padding=1)), 2, 1, 1, ceil_mode=True), (2, 3)) ** 2).sum(),
        [(2, 2, 7, 7), (3, 2, 3, 3), (3,)], 22.2021348925),
}

# PyTorch 2.13's Hessian-vector products w.r.t. x (0) and the conv weight (1): every number for
# the first case, summaries for the others
TORCH = {
'conv_relu_maxpool_sum hvp 0': [-1.42454526553, -1.42839153018, 0.975487713113, -0.692270519823,
        1.13031709906, 0.395256609205, 1.33143610875, 1.33931134562, -0.959674972899,
        -0.276356423681, 0.0110609937365, -1.52838140732, 0.427654990472, -0.635023171506,
        0.0153422723743, -1.58651835638, -1.65137613189, -2.09011688234, 0.796470375586, 0,
        -0.158654512408, 0.710752735909, -0.425594222144, -0.374656901891, 0, -0.636940109747,
        2.49778251133, -0.0992307578308, 0.370516989089, 1.36716518528, 2.38246761094,
        3.01393010758, 0.316995731745, 0.715666778764, -0.256712533677, 1.63732628728,
        0.176008436555, 0.783900517296, 1.73603781262, 0.371760960115, -0.557382494,
        -0.825938138747, 0.138647226278, -0.106494884243, 0, 0.972807868726, 1.53336024729,
        1.40645010792, 1.07956098684, 0, 0.0967714598883, -0.848544670858, -0.231207753044,
        -0.692270519823, 1.13031709906, 1.24857721126, 0.550523989001, 1.22867855365,
        -1.04744977774, -0.276356423681, -1.85466954876, -0.690087627831, -0.480543928148,
        1.25714127896, 0.0153422723743, -2.31590075857, -1.00427522448, -1.19946810071,
        -1.05006280813, 0, 0.538382630139, 0.0153422723743, 0, 0, 0, 1.57553004218, 0.149273450876,
        0.587884167733, 0.370516989089, 1.36716518528, 2.46487734531, 2.65518915443, 1.81404639261,
        1.49602125492, -0.256712533677, 1.61116022824, 0.660471400048, 0.92118553333,
        -0.138731371375, 0.371760960115, 0.620373729937, -0.0929130488348, 0.532096316696,
        1.24474552504, 0, 0.209878756948, 0.371760960115, 0, 0, 0],
'conv_relu_maxpool_sum hvp 1': [2.38344974965, 1.32338087395, 0.945575615217, -0.582817595499,
        2.4996092775, 1.25005996908, -1.63873839688, 1.53535546514, -0.774388608241, -1.20274621618,
        -2.79612457762, -2.39971382706, 0.574036106613, -1.00531335459, -1.23935776485,
        -0.466389767498, -0.229587677666, -2.94579028863, 0.212050636212, 2.20960631564,
        -0.0670145229487, -0.745718422695, 1.71158605653, 2.01743397564, 0.956633690294,
        -0.391554060594, 0.226269248473, 0.227969386775, -2.5956322417, -0.833219429274,
        -1.36277129086, -3.03627257318, -0.174597524961, -1.09758218813, 1.22730812094,
        0.639044605421, -1.59937818637, 3.33260951401, 0.823022530467, 1.07461688469, 1.27495028093,
        0.618622570313, 0.277383097182, 0.609126622683, -0.742114504279, -1.15641985298,
        -3.34651459379, -2.67581758896, -9.23959669308e-05, -0.901886269578, -0.877304483433,
        -1.27697550068, -1.1560864149, 0.559811753701],
'grouped_dilated_avgpool_square hvp 0': [28.6051724531, 88.9407463157, -0.354667183573,
        -0.0107299536979, -0.0649613751217, -0.177510768831, 0.0977049656744],
'grouped_dilated_avgpool_square hvp 1': [-14.5620773623, 53.2926896349, 6.43822475969,
        0.0291970702275, -0.0254335646954, -0.0397009640277, 0.205615574378],
'strided_pool_ceil_adaptive_square hvp 0': [10.3097845013, 261.302266605, 10.1201514656,
        -0.537867119196, -2.48930345086, -0.903989743415, 1.26500986347],
'strided_pool_ceil_adaptive_square hvp 1': [-32.9669214631, 112.857450582, 5.59401289477,
        -0.277458988655, -0.0682377050063, -2.01673028523, 1.8817308699],
}


@pytest.mark.parametrize("name", list(SMALL))
def test_hessian_vector_product_matches_pytorch(name):
    f, shapes, f_value = SMALL[name]
    values = [fixed(s, i, 0.8) for i, s in enumerate(shapes)]
    vectors = [fixed(s, 10 + i) for i, s in enumerate(shapes)]
    out, _, products = hvp(f, values, vectors)
    np.testing.assert_allclose(out, f_value, rtol=1e-9)
    for i in (0, 1):
        got = products[i].ravel() if name == "conv_relu_maxpool_sum" else summary(products[i])
        np.testing.assert_allclose(got, TORCH[f"{name} hvp {i}"], rtol=1e-5, atol=1e-9)


def lenet(x, w1, b1, w2, b2, w3, b3):
    h = ops.max_pool2d(ops.relu(ops.conv2d(x, w1, b1)), 2)
    h = ops.max_pool2d(ops.relu(ops.conv2d(h, w2, b2)), 2)
    logits = ops.linear(h.reshape(h.shape[0], -1), w3, b3)
    return ops.cross_entropy(logits, Tensor([3, 7], dtype=np.int64))


LENET_SHAPES = [(2, 1, 28, 28), (6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (10, 256), (10,)]
LENET_SCALES = [1.0, 0.2, 0.1, 0.08, 0.1, 0.06, 0.1]
LENET_LOSS = 2.5368801177
# summaries of PyTorch 2.13's gradient and Hessian-vector product for x and each parameter
LENET_TORCH = {
'lenet grad 0': [-0.0381498971809, 2.85921902204, 0.0336494411566, 3.02122338962e-05,
        -0.000116042683031, -0.000269071524052, 0.000512496664981],
'lenet hvp 0': [-1.39658776569, 62.3132654489, -1.07083530508, -0.0011289503889,
        0.000849920131914, -0.000984982354792, 0.00107252672562],
'lenet grad 1': [0.708469195617, 5.02813820644, -0.102948290172, -0.00694140303882,
        0.084387313953, -0.0282045143999, 0.0651961302311],
'lenet hvp 1': [2.63351203686, 106.582315054, 9.05587661055, -0.382069489175, -0.213529688082,
        -0.443138705333, 0.201627786939],
'lenet grad 2': [0.138923174244, 0.620650343805, 0.0782606211995, -0.102115432039,
        -0.083893153105, 0.125207425176, 0.125060268504],
'lenet hvp 2': [-3.54274829259, 7.83674593475, 3.19432483057, -0.833904823777, -0.523582414345,
        1.47522547356, 0.671773347523],
'lenet grad 3': [36.3247965285, 70.6963609934, 0.780930171833, 0, 0, 0, 0],
'lenet hvp 3': [21.8543361391, 878.149971949, -26.1417648288, 0, 0, 0, 0],
'lenet grad 4': [0.648120010228, 1.08648430101, -0.131071432771, 0, 0.0122605748356,
        -0.0158233448567, 0.0780670930651],
'lenet hvp 4': [1.35942925571, 13.0827335106, -2.35748153529, 0, -0.441904739013,
        -0.821006986072, -0.615614271521],
'lenet grad 5': [3.5527136788e-15, 91.0767502124, 3.05188939523, 0, 0, 0, 0],
'lenet hvp 5': [1.42108547152e-14, 1315.72113571, -38.992506753, 0, 0, 0, 0],
'lenet grad 6': [5.55111512313e-17, 1.67646735946, 0.141102221028, 0.106431820702,
        0.113790923435, 0.0974486503184, -0.427793433431],
'lenet hvp 6': [-3.46944695195e-17, 3.4794257513, -0.196167602504, 0.778837529804,
        -0.316413842721, -0.495655406517, 0.351615354947],
}


@pytest.mark.skipif(not (Linear.graph_backward and CrossEntropy.graph_backward),
                    reason="linear and cross_entropy have no graph backward yet")
def test_lenet_hessian_vector_product_matches_pytorch():
    values = [fixed(s, i, scale) for i, (s, scale) in enumerate(zip(LENET_SHAPES, LENET_SCALES))]
    vectors = [fixed(s, 10 + i) for i, s in enumerate(LENET_SHAPES)]
    loss, grads, products = hvp(lenet, values, vectors)
    np.testing.assert_allclose(loss, LENET_LOSS, rtol=1e-9)
    for i, (g, h) in enumerate(zip(grads, products)):
        np.testing.assert_allclose(summary(g), LENET_TORCH[f"lenet grad {i}"], rtol=1e-5,
                                   atol=1e-9)
        np.testing.assert_allclose(summary(h), LENET_TORCH[f"lenet hvp {i}"], rtol=1e-5,
                                   atol=1e-9)
