"""Backward is a graph too, for the activations, trig, rounding, compare, the reductions beyond
sum/mean, cast and the copies: gradgradcheck (float64 central differences of the first-order
gradient) on every op, and first-order gradients and Hessian-vector products against PyTorch
2.13's numbers, written down (benchmarks/higher_order_reference_activations.py printed them; no
torch here), with the 1st..4th derivatives of tanh and Newton's method on x**4 - 2 x**2."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_cnn import Tensor, autograd, ops, rng
from tinygrad_cnn.gradcheck import gradgradcheck


def _seeded_dropout(a):
    rng.manual_seed(7)  # the same mask on every call, so finite differences see one function
    return ops.dropout(a, 0.4) * a


def _copy_into(x):
    z = Tensor.zeros(*x.shape, dtype=np.float64)
    z.copy_(x * x)
    return z * x


def _setitem(x):
    z = x * 1.0
    z[:, 1] = x[:, 0] ** 2
    return z * z


# one argument: (name, f, domain); f of one (3, 4) input drawn uniformly from the domain
UNARY = [
    ("sigmoid", lambda a: a.sigmoid(), (-3, 3)),
    ("relu", lambda a: a.relu() * a, (-2, 2)),
    ("tanh", lambda a: a.tanh(), (-2, 2)),
    ("leaky_relu", lambda a: a.leaky_relu(0.1) * a, (-2, 2)),
    ("hardtanh", lambda a: ops.hardtanh(a, -0.5, 1.0) * a, (-2, 2)),
    ("relu6", lambda a: ops.relu6(a * 4) * a, (-2, 2)),
    ("softmax", lambda a: a.softmax(dim=1), (-2, 2)),
    ("log_softmax", lambda a: a.log_softmax(dim=0), (-2, 2)),
    ("dropout", _seeded_dropout, (-2, 2)),
    ("silu", ops.silu, (-3, 3)),
    ("elu", lambda a: ops.elu(a, alpha=0.7), (-2, 2)),
    ("softplus", lambda a: ops.softplus(a, beta=2.0), (-3, 3)),
    ("softplus_linear", lambda a: ops.softplus(a * 10, beta=2.0, threshold=5.0) * a, (-1, 1)),
    ("gelu", ops.gelu, (-3, 3)),
    ("gelu_tanh", lambda a: ops.gelu(a, approximate="tanh"), (-3, 3)),
    ("sin", lambda a: a.sin(), (-3, 3)),
    ("cos", lambda a: a.cos(), (-3, 3)),
    ("floor", lambda a: a * a * a.floor(), (-2, 2)),
    ("ceil", lambda a: a * a * a.ceil(), (-2, 2)),
    ("round", lambda a: a * a * (a * 3).round(), (-2, 2)),
    ("sign", lambda a: a * a * a.sign(), (-2, 2)),
    ("clip", lambda a: a.clip(-0.5, 0.5) * a, (-1, 1)),
    ("clip_min", lambda a: a.clip(min=0.2) * a.exp(), (-1, 1)),
    ("max", lambda a: (a * a).max() * a, (-2, 2)),
    ("max_dim", lambda a: (a * a).max(dim=1).values, (-2, 2)),
    ("min_dim", lambda a: (a * a).min(dim=0, keepdim=True).values * a, (-2, 2)),
    ("amax", lambda a: (a * a).amax(dim=(0, 1)) * a, (-2, 2)),
    ("amin", lambda a: (a * a).amin(dim=0), (-2, 2)),
    ("var", lambda a: a.var(dim=1), (-2, 2)),
    ("var_biased", lambda a: a.var(unbiased=False) * a, (-2, 2)),
    ("std", lambda a: a.std(dim=0, keepdim=True), (-2, 2)),
    ("prod", lambda a: a.prod(dim=1), (0.5, 2)),
    ("prod_all", lambda a: a.prod() * a, (-1.5, 1.5)),
    ("logsumexp", lambda a: a.logsumexp(dim=1), (-2, 2)),
    ("logsumexp_all", lambda a: a.logsumexp(dim=(0, 1)) * a, (-2, 2)),
    ("norm", lambda a: a.norm() * a, (-2, 2)),
    ("norm_p3", lambda a: a.norm(p=3, dim=1), (-2, 2)),
    ("norm_p1", lambda a: a.norm(p=1, dim=0) * a, (-2, 2)),
    ("norm_p_half", lambda a: a.norm(p=0.5, dim=1, keepdim=True) * a, (0.5, 2)),
    ("norm_inf", lambda a: a.norm(p=float("inf")) * a, (-2, 2)),
    ("norm_minus_inf", lambda a: a.norm(p=-float("inf"), dim=1) * a.sum(dim=1), (-2, 2)),
    ("cumsum", lambda a: (a * a).cumsum(dim=1) * a, (-2, 2)),
    ("clone", lambda a: a.clone() * a, (-2, 2)),
    ("copy_", _copy_into, (-2, 2)),
    ("setitem", _setitem, (-2, 2)),
]


@pytest.mark.parametrize("name, f, domain", UNARY, ids=[case[0] for case in UNARY])
def test_gradgradcheck_one_input(name, f, domain):
    a = np.random.default_rng(0).uniform(*domain, (3, 4))
    assert gradgradcheck(f, [a])


@pytest.mark.parametrize("name, f", [
    ("remainder", lambda a, b: (a % b) * a * b),
    ("maximum", lambda a, b: a.maximum(b) * a * b),
    ("minimum", lambda a, b: a.minimum(b) * a * b),
    ("clip_tensor_bounds", lambda a, b: a.clip(b - 1, b) * a),
    ("max_of_two", lambda a, b: a.max(b) * b.exp()),
])
def test_gradgradcheck_two_inputs(name, f):
    generator = np.random.default_rng(1)
    a, b = generator.uniform(-2, 2, (3, 4)), generator.uniform(0.5, 1.5, (4,))
    assert gradgradcheck(f, [a, b])


@pytest.mark.parametrize("x", [
    [[0.0, -1.2, 0.8], [1.5, 0.7, -0.3]],  # one zero
    [[0.0, -1.2, 0.0], [1.5, 0.0, 0.0]],  # two zeros, then three
], ids=["one_zero", "several_zeros"])
def test_gradgradcheck_prod_through_zeros(x):
    assert gradgradcheck(lambda a: a.prod(dim=1, keepdim=True) * a, [np.array(x)])
    assert gradgradcheck(lambda a: a.prod(dim=0), [np.array(x)])


def test_gradgradcheck_cast_through_float32():
    # float32 in the middle: finite differences need a larger step and a looser bound
    def f(a):
        return (a.float() * a.float()).exp().double() * a

    assert gradgradcheck(f, [np.random.default_rng(2).uniform(-1, 1, (3, 4))], eps=1e-3,
                         atol=1e-3, rtol=1e-2)


def third_derivative(f, x):
    x = Tensor(x, dtype=np.float64, requires_grad=True)
    (g,) = autograd.grad(f(x).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x, create_graph=True)
    return autograd.grad(h.sum(), x)[0].data


def test_third_derivatives_of_gelu_and_of_prod_through_a_zero():
    # Erf (GELU's exact CDF) and prod's formula for zeros are graph_backward ops themselves
    x = np.array([0.3, -1.1, 1.7])
    phi = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(third_derivative(ops.gelu, x), phi * (x**3 - 4 * x), rtol=1e-12)
    # sum of all third partials of x1 x2 x3 w.r.t. (x_i, any, any): 2 for every i
    np.testing.assert_allclose(third_derivative(lambda a: a.prod(), [0.0, 2.0, 3.0]), [2, 2, 2])


# ----- PyTorch 2.13's numbers ---------------------------------------------------------------
X = [[0.3, -1.2, 0.8], [1.5, -0.4, -2.1]]
Y = [[-0.2, -0.7, 1.1], [0.9, 0.35, -1.6]]
X_ZEROS = [[0.0, -1.2, 0.8], [1.5, 0.0, 0.0]]  # prod: one zero in row 0, two in row 1
W = [[0.7, -1.1, 0.4], [1.3, 0.6, -0.9]]
V = [[0.5, 0.2, -0.3], [-0.8, 1.1, 0.6]]
V2 = [[-0.4, 0.9, 0.1], [0.3, -0.6, 1.2]]
TANH_POINTS = [-1.0, 0.0, 0.5, 1.5]

# name: (f, inputs), as the reference script's CASES with our names
CASES = {
    "sigmoid": (lambda x: x.sigmoid(), [X]),
    "relu": (lambda x: x.relu() * x, [X]),
    "tanh": (lambda x: x.tanh(), [X]),
    "leaky_relu": (lambda x: x.leaky_relu(0.1) * x, [X]),
    "hardtanh": (lambda x: ops.hardtanh(x) * x, [X]),
    "relu6": (lambda x: ops.relu6(x * 4) * x, [X]),
    "softmax": (lambda x: x.softmax(dim=1), [X]),
    "log_softmax": (lambda x: x.log_softmax(dim=0), [X]),
    "silu": (ops.silu, [X]),
    "elu": (lambda x: ops.elu(x, alpha=0.7), [X]),
    "softplus": (lambda x: ops.softplus(x, beta=2.0), [X]),
    "softplus_linear": (lambda x: ops.softplus(x * 10, beta=2.0, threshold=20.0) * x, [X]),
    "gelu": (ops.gelu, [X]),
    "gelu_tanh": (lambda x: ops.gelu(x, approximate="tanh"), [X]),
    "sin": (lambda x: x.sin(), [X]),
    "cos": (lambda x: x.cos(), [X]),
    "floor": (lambda x: x * x * x.floor(), [X]),
    "ceil": (lambda x: x * x * x.ceil(), [X]),
    "round": (lambda x: x * x * (x * 3).round(), [X]),
    "sign": (lambda x: x * x * x.sign(), [X]),
    "remainder": (lambda x, y: (x % y) * x * y, [X, Y]),
    "maximum": (lambda x, y: x.maximum(y) * x * y, [X, Y]),
    "minimum": (lambda x, y: x.minimum(y) * x * y, [X, Y]),
    "clamp": (lambda x: x.clip(-0.5, 0.5) * x, [X]),
    "max": (lambda x: (x * x).max() * x, [X]),
    "max_dim": (lambda x: (x * x).max(dim=1).values, [X]),
    "min_dim": (lambda x: (x * x).min(dim=0, keepdim=True).values * x, [X]),
    "amax": (lambda x: (x * x).amax(dim=1, keepdim=True) * x, [X]),
    "amin": (lambda x: (x * x).amin(dim=0), [X]),
    "var": (lambda x: x.var(dim=1), [X]),
    "var_all_biased": (lambda x: x.var(unbiased=False) * x, [X]),
    "std": (lambda x: x.std(dim=0, keepdim=True), [X]),
    "prod": (lambda x: x.prod(dim=1), [X]),
    "prod_all": (lambda x: x.prod() * x, [X]),
    "prod_zeros": (lambda x: x.prod(dim=1, keepdim=True) * x, [X_ZEROS]),
    "logsumexp": (lambda x: x.logsumexp(dim=1), [X]),
    "logsumexp_all": (lambda x: x.logsumexp(dim=(0, 1)) * x, [X]),
    "norm": (lambda x: x.norm() * x, [X]),
    "norm_p3": (lambda x: x.norm(p=3, dim=1), [X]),
    "norm_p1": (lambda x: x.norm(p=1, dim=0) * x, [X]),
    "norm_inf": (lambda x: x.norm(p=float("inf")) * x, [X]),
    "cumsum": (lambda x: (x * x).cumsum(dim=1) * x, [X]),
    "cast": (lambda x: (x.float() * x.float()).double() * x, [X]),
    "clone": (lambda x: x.clone() * x, [X]),
    "copy_": (_copy_into, [X]),
    "setitem": (_setitem, [X]),
}

# PyTorch 2.13.0+cpu: benchmarks/higher_order_reference_activations.py
TORCH = {  # name: (gradient per input, Hessian-vector product per input)
    'sigmoid': (
        [[[0.171120818184, -0.195683884711, 0.0855638786081], [0.193890387691, 0.144156447445,
        -0.0874752343206]]],
        [[[-0.0127386643845, -0.0210183891106, 0.00975297206511], [0.0985194212961,
        0.0312982174746, -0.0410332165951]]]),
    'relu': (
        [[[0.42, 0.0, 0.64], [3.9, 0.0, 0.0]]],
        [[[0.7, 0.0, -0.24], [-2.08, 0.0, 0.0]]]),
    'tanh': (
        [[[0.640595873279, -0.335521995828, 0.223622067093], [0.234918630601, 0.513383271649,
        -0.0524007348509]]],
        [[[-0.186613657371, -0.11188378303, 0.0890959651158], [0.340217901179, 0.429130770865,
        -0.0610228735392]]]),
    'leaky_relu': (
        [[[0.42, 0.264, 0.64], [3.9, -0.048, 0.378]]],
        [[[0.7, -0.044, -0.24], [-2.08, 0.132, -0.108]]]),
    'hardtanh': (
        [[[0.42, 1.1, 0.64], [1.3, -0.48, 0.9]]],
        [[[0.7, 0.0, -0.24], [0.0, 1.32, 0.0]]]),
    'relu6': (
        [[[1.68, 0.0, 2.56], [7.8, 0.0, 0.0]]],
        [[[2.8, 0.0, -0.96], [0.0, 0.0, 0.0]]]),
    'softmax': (
        [[[0.108668971175, -0.115604717526, 0.006935746351], [0.118990057119, -0.0711642580703,
        -0.0478257990485]]],
        [[[0.0422978895752, -0.0233713251305, -0.0189265644447], [0.139181649973, -0.0900220886219,
        -0.0491595613512]]]),
    'log_softmax': (
        [[[0.237049566998, -0.944987240564, 0.873923218461], [-0.237049566998, 0.944987240564,
        -0.873923218461]]],
        [[[-0.462525545682, -0.0962593634341, -0.0222451060215], [0.462525545682, 0.0962593634341,
        0.0222451060215]]]),
    'silu': (
        [[[0.453446007223, -0.0198020764973, 0.344440895338], [1.35368240059, 0.183124824955,
        0.0855108529971]]],
        [[[0.167299218868, -0.0530514869519, -0.0435359495128], [-0.162445488362, 0.304624897389,
        -0.018800526335]]]),
    'elu': (
        [[[0.7, -0.231919543172, 0.4], [1.3, 0.281534419335, -0.0771475497994]]],
        [[[0.0, -0.0463839086345, 0.0], [0.0, 0.309687861268, -0.0462885298796]]]),
    'softplus': (
        [[[0.451959414358, -0.0914899661433, 0.332807354054], [1.23834636487, 0.186015311323,
        -0.0132966285239]]],
        [[[0.16014896832, -0.0335521995828, -0.0335433100639], [-0.0939674522403, 0.282360799407,
        -0.0157202204553]]]),
    'softplus_linear': (
        [[[4.19567398117, 4.77554519833e-10, 6.39999966239], [39, -0.000704218401251,
        1.06078685776e-17]]],
        [[[7.03448833302, 1.82716511929e-09, -2.40000189059], [-20.8, -0.0132739272938,
        1.24189680909e-16]]]),
    'gelu': (
        [[[0.512629436779, 0.129748955334, 0.40795913745], [1.4657099499, 0.118362121361,
        0.0670510178965]]],
        [[[0.254957754635, -0.0239237219739, -0.0472776614107], [0.0336745748731, 0.447227258384,
        0.0572402518089]]]),
    'gelu_tanh': (
        [[[0.512606816147, 0.129498748206, 0.407833492423], [1.4660240311, 0.118404699348,
        0.0678158002868]]],
        [[[0.254851956952, -0.0241581249628, -0.0472196938312], [0.0317389243436, 0.446917474767,
        0.0574862555827]]]),
    'sin': (
        [[[0.668735542388, -0.398593529924, 0.278682683739], [0.091958362168, 0.552636596402,
        0.45436149414]]],
        [[[-0.103432072331, -0.205048598913, 0.0860827309079], [1.03739478607, 0.257016105924,
        -0.46613305799]]]),
    'cos': (
        [[[-0.206864144663, -1.02524299456, -0.28694243636], [-1.29674348259, 0.233651005385,
        -0.776888429984]]],
        [[[-0.334367771194, 0.0797187059849, 0.0836048051217], [0.0735666897344, -0.607900256042,
        -0.272616896484]]]),
    'floor': (
        [[[0.0, -5.28, 0.0], [3.9, 0.48, -11.34]]],
        [[[0.0, 0.88, 0.0], [-2.08, -1.32, 3.24]]]),
    'ceil': (
        [[[0.42, -2.64, 0.64], [7.8, 0.0, -7.56]]],
        [[[0.7, 0.44, -0.24], [-4.16, 0.0, 2.16]]]),
    'round': (
        [[[0.42, -10.56, 1.28], [15.6, 0.48, -22.68]]],
        [[[0.7, 1.76, -0.48], [-8.32, -1.32, 6.48]]]),
    'sign': (
        [[[0.42, -2.64, 0.64], [3.9, 0.48, -3.78]]],
        [[[0.7, 0.44, -0.24], [-2.08, -1.32, 1.08]]]),
    'remainder': (
        [[[-0.028, -1.309, 0.704], [2.457, -0.021, -3.744]], [[-0.105, 0.264, 0.256], [-0.585,
        -0.24, 2.079]]],
        [[[-0.084, 1.298, -0.2], [-1.404, 0.246, 2.808]], [[-0.406, -2.156, -0.192], [-2.418,
        0.972, -3.996]]]),
    'maximum': (
        [[[-0.084, -0.539, 0.484], [3.51, 0.0735, -2.304]], [[0.063, -1.848, 0.704], [2.925,
        -0.168, -6.048]]],
        [[[-0.308, 1.386, 0.088], [-0.702, -0.252, 3.456]], [[0.21, 2.684, -0.2], [-3.12, 0.75,
        6.264]]]),
    'minimum': (
        [[[0.028, -1.848, 0.704], [1.053, -0.168, -6.048]], [[-0.084, -1.584, 0.256], [3.51, 0.096,
        -3.969]]],
        [[[0.112, 2.684, -0.2], [0.702, 0.75, 6.264]], [[-0.308, 0.528, -0.192], [-0.702, -0.528,
        2.268]]]),
    'clamp': (
        [[[0.42, 0.55, 0.2], [0.65, -0.48, 0.45]]],
        [[[0.7, 0.0, 0.0], [0.0, 1.32, 0.0]]]),
    'max': (
        [[[3.087, -4.851, 1.764], [5.733, 2.646, -26.859]]],
        [[[-1.764, 2.772, -1.008], [-3.276, -1.512, 12.63]]]),
    'max_dim': (
        [[[0.0, -1.68, 0.0], [0.0, 0.0, 4.62]]],
        [[[0.0, 0.28, 0.0], [0.0, 0.0, -1.32]]]),
    'min_dim': (
        [[[1.359, -0.176, 3.792], [0.117, -0.768, -0.576]]],
        [[[1.956, 0.968, -2.574], [0.39, 1.496, 0.432]]]),
    'amax': (
        [[[1.008, -6.024, 0.576], [5.733, 2.646, -19.089]]],
        [[[-0.336, 1.244, -0.192], [-3.276, -1.512, 10.452]]]),
    'amin': (
        [[[0.42, 0.0, 0.64], [0.0, 0.88, 0.0]]],
        [[[0.7, 0.0, -0.24], [0.0, -2.42, 0.0]]]),
    'var': (
        [[[0.233333333333, -0.816666666667, 0.583333333333], [-2.01666666667, 0.0733333333333,
        1.94333333333]]],
        [[[0.256666666667, 0.0466666666667, -0.303333333333], [1.21, -0.88, -0.33]]]),
    'var_all_biased': (
        [[[1.90336111111, -3.45813888889, 2.37227777778], [4.96219444444, 0.485222222222,
        -4.80019444444]]],
        [[[-0.329944444444, 1.37505555556, -1.63577777778], [-3.65394444444, 1.07211111111,
        2.17527777778]]]),
    'std': (
        [[[-1.41421356237, 0.353553390593, -0.353553390593], [1.41421356237, -0.353553390593,
        0.353553390593]]],
        [[[-2.22044604925e-16, -5.55111512313e-17, -4.16333634234e-17], [0.0, 5.55111512313e-17,
        4.16333634234e-17]]]),
    'prod': (
        [[[-0.672, 0.168, -0.252], [-0.924, 3.465, 0.66]]],
        [[[0.364, 0.217, -0.378], [2.805, -2.838, -2.167]]]),
    'prod_all': (
        [[[-6.846336, 2.047248, -2.617272], [-1.790208, 4.726512, 1.268352]]],
        [[[28.8207072, -5.0040756, 5.8824684], [3.89232, 1.2192876, -2.9880864]]]),
    'prod_zeros': (
        [[[-1.5744, 0.0, 0.0], [0.0, 0.0, 0.0]]],
        [[[0.5072, 1.184, -1.176], [0.0, 1.755, 3.2175]]]),
    'logsumexp': (
        [[[0.243745199519, 0.054386905404, 0.401867895077], [-0.934664931577, -0.139796543252,
        -0.0255385251716]]],
        [[[0.117628086208, 0.00993030209224, -0.1275583883], [0.256070463498, -0.227313326529,
        -0.0287571369687]]]),
    'logsumexp_all': (
        [[[2.35362994005, -2.25587756998, 2.21098980711], [5.54714286157, 1.72753723947,
        -1.9195526141]]],
        [[[0.298469305464, 0.3843837835, -0.345185428419], [-2.17595436798, 0.31308393785,
        0.319387909761]]]),
    'norm': (
        [[[2.64413603941, -5.47937827843, 2.65347456225], [6.62434788278, 1.07192901497,
        -6.51562079539]]],
        [[[0.259622955077, 1.1290460354, -0.696555046984], [-2.33023486799, 1.21325820187,
        1.32605280732]]]),
    'norm_p3': (
        [[[0.0365067245807, -0.584107593292, 0.259603374796], [-0.454680214249, 0.0323328152355,
        0.891173219928]]],
        [[[0.135699161506, -0.0294587420231, -0.0950752985993], [0.154042315106, -0.154296267729,
        0.139419990357]]]),
    'norm_p1': (
        [[[3.42, -2.84, 3.37], [4.5, -0.12, -4.82]]],
        [[[-0.9, 0.99, -1.02], [-1.08, -1.22, 1.47]]]),
    'norm_inf': (
        [[[1.47, -2.31, 0.84], [2.73, 1.26, -7.34]]],
        [[[-0.42, 0.66, -0.24], [-0.78, -0.36, 1.45]]]),
    'cumsum': (
        [[[1.173, -5.619, 1.38], [13.725, 0.126, -14.076]]],
        [[[2.066, 1.67, -0.648], [-11.64, 1.566, 9.756]]]),
    'cast': (
        [[[0.18900000453, -4.75200028419, 0.768000042439], [8.77500038147, 0.288000008464,
        -11.9069991589]]],
        [[[0.630000025034, 1.58400001526, -0.576000010967], [-9.3599998951, -1.58400002718,
        6.8040002346]]]),
    'clone': (
        [[[0.42, 2.64, 0.64], [3.9, -0.48, 3.78]]],
        [[[0.7, -0.44, -0.24], [-2.08, 1.32, -1.08]]]),
    'copy_': (
        [[[0.189, -4.752, 0.768], [8.775, 0.288, -11.907]]],
        [[[0.63, 1.584, -0.576], [-9.36, -1.584, 6.804]]]),
    'setitem': (
        [[[0.3012, 0.0, 0.64], [12, 0.0, 3.78]]],
        [[[0.106, 0.0, -0.24], [-15.04, 0.0, -1.08]]]),
}
TANH_DERIVATIVES = (  # d^n/dx^n tanh at TANH_POINTS, n = 1..4
    [[0.419974341614, 1, 0.786447732966, 0.180706638924], [0.639700008449, 0.0, -0.726861981384,
    -0.327132597288], [0.621626680771, -2, -0.56520928826, 0.526897219588], [-0.665091044751, 0.0,
    3.95221956372, -0.599150003492]])
NEWTON = [2, 1.45454545455, 1.15104678938, 1.02532592898, 1.00090845194, 1.00000123531, 1]


def derivatives(f, inputs):
    """loss = sum(W * f(inputs)): its gradients (create_graph) and the Hessian times (V, V2)."""
    leaves = [Tensor(v, dtype=np.float64, requires_grad=True) for v in inputs]
    out = f(*leaves)
    weight = Tensor(W, dtype=np.float64)
    loss = (out * weight).sum() if out.ndim == 2 else (out * weight[0, : out.numel()]).sum()
    grads = autograd.grad(loss, leaves, create_graph=True)
    vectors = [Tensor(v, dtype=np.float64) for v in (V, V2)[: len(leaves)]]
    hvp = autograd.grad(grads, leaves, vectors, allow_unused=True)
    hvp = [np.zeros_like(x.data) if h is None else h.data for h, x in zip(hvp, leaves)]
    return [g.data for g in grads], hvp


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_and_hessian_vector_product_equal_pytorchs(name):
    f, inputs = CASES[name]
    grads, hvp = derivatives(f, inputs)
    torch_grads, torch_hvp = TORCH[name]
    for ours, theirs in zip(grads + hvp, torch_grads + torch_hvp):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-10)


def test_cases_match_the_reference_script():
    assert set(CASES) == set(TORCH)


def test_first_to_fourth_derivatives_of_tanh():
    x = Tensor(TANH_POINTS, dtype=np.float64, requires_grad=True)
    y = x.tanh()
    for n, expected in enumerate(TANH_DERIVATIVES, start=1):
        (y,) = autograd.grad(y.sum(), x, create_graph=True)
        assert y.requires_grad, f"derivative {n} has no graph"
        np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-12)
    t = np.tanh(np.array(TANH_POINTS))  # and the 4th's closed form, 8 t (1 - t**2) (2 - 3 t**2)
    np.testing.assert_allclose(y.data, 8 * t * (1 - t**2) * (2 - 3 * t**2), rtol=1e-10,
                               atol=1e-12)


def test_newtons_method_on_a_quartic_converges_to_one():
    x = Tensor(2.0, dtype=np.float64, requires_grad=True)
    path = [x.item()]
    for _ in range(6):
        y = x**4 - 2 * x**2
        y.backward(create_graph=True)
        first = x.grad
        x.grad = None
        first.backward()
        x = Tensor(x.item() - first.item() / x.grad.item(), dtype=np.float64, requires_grad=True)
        path.append(x.item())
    np.testing.assert_allclose(path, NEWTON, rtol=1e-10)
    assert abs(path[-1] - 1.0) < 1e-10
