"""pycore against PyTorch (an independent implementation): forward and backward on random inputs."""
import numpy as np
import pytest

from pycore.activations import ACTIVATIONS
from pycore.layers import FC, Conv, Pool
from pycore.losses import SVM, Regression, Softmax

torch = pytest.importorskip('torch', reason='install the test extra: pip install -e .[test]')
F = torch.nn.functional


def run_both(layer, x, torch_fn, seed=0):
    """Forward and backward of `layer` and of torch_fn(x, *params) with the same upstream gradient."""
    out = layer.forward(x)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    tout = torch_fn(tx, **tparams)
    tout.backward(torch.tensor(dout).reshape(tout.shape))
    np.testing.assert_allclose(out.reshape(tout.shape), tout.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    for k, t in tparams.items():
        np.testing.assert_allclose(layer.grads[k], t.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=k)


CONV_SHAPES = [(1, 24, 24, 8, 5, 5, 1, 2), (8, 12, 12, 16, 5, 5, 1, 2), (3, 9, 7, 4, 3, 2, 1, 0),
               (3, 11, 11, 5, 3, 3, 2, 1), (2, 9, 9, 3, 3, 3, 3, 0)]


@pytest.mark.parametrize('method,C,H,W,Fo,kh,kw,stride,pad',
                         [('im2col', *s) for s in CONV_SHAPES] + [('fft', *s) for s in CONV_SHAPES if s[6] == 1])
def test_conv(method, C, H, W, Fo, kh, kw, stride, pad):
    Ho, Wo = (H - kh + 2 * pad) // stride + 1, (W - kw + 2 * pad) // stride + 1
    layer = Conv((C, H, W), (Fo, Ho, Wo), {}, sx=kw, sy=kh, stride=stride, pad=pad, bias_pref=0.1,
                 rng=np.random.default_rng(1), dtype=np.float64)
    layer.method = method
    x = np.random.default_rng(2).standard_normal((4, C, H, W))
    run_both(layer, x, lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad))


@pytest.mark.parametrize('mode', ['max', 'avg'])
@pytest.mark.parametrize('C,H,k,stride,pad', [(8, 24, 2, 2, 0), (16, 12, 3, 3, 0), (3, 7, 3, 2, 1),
                                              (2, 6, 3, 1, 1), (2, 8, 2, 2, 1)])
def test_pool(mode, C, H, k, stride, pad):
    Ho = (H - k + 2 * pad) // stride + 1
    layer = Pool((C, H, H), (C, Ho, Ho), {}, sx=k, sy=k, stride=stride, pad=pad, mode=mode)
    x = np.random.default_rng(3).standard_normal((3, C, H, H))
    if mode == 'max':
        fn = lambda x: F.max_pool2d(x, k, stride, pad)                                    # noqa: E731
    else:
        fn = lambda x: F.avg_pool2d(x, k, stride, pad, count_include_pad=True)           # noqa: E731
    run_both(layer, x, fn)


def test_fc():
    layer = FC((16, 4, 4), (10, 1, 1), {}, bias_pref=0.0, rng=np.random.default_rng(4), dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((6, 16, 4, 4))
    run_both(layer, x, lambda x, w, b: F.linear(x.reshape(len(x), -1), w, b))


TORCH_ACTIVATIONS = {
    'relu': F.relu, 'sigmoid': torch.sigmoid, 'tanh': torch.tanh, 'softplus': F.softplus,
    'lrelu': lambda x: F.leaky_relu(x, 0.01), 'elu': lambda x: F.elu(x, 1.0),
    'selu': F.selu}


@pytest.mark.parametrize('name', sorted(ACTIVATIONS))
def test_activation(name):
    layer = ACTIVATIONS[name]((4, 5, 5), (4, 5, 5), {})
    x = np.random.default_rng(6).standard_normal((3, 4, 5, 5)) * 4
    x[0, 0, 0, :3] = [50.0, -50.0, 0.5]          # large values must not overflow
    run_both(layer, x, TORCH_ACTIVATIONS[name])


def test_softmax_cross_entropy():
    x = np.random.default_rng(7).standard_normal((8, 10, 1, 1)) * 5
    y = np.random.default_rng(8).integers(0, 10, 8)
    layer = Softmax((10, 1, 1), (10, 1, 1), {})
    probs = layer.forward(x)
    loss = layer.backward(y)
    tx = torch.tensor(x.reshape(8, 10), requires_grad=True)
    tloss = F.cross_entropy(tx, torch.tensor(y))
    tloss.backward()
    np.testing.assert_allclose(probs.reshape(8, 10), torch.softmax(tx, 1).detach().numpy(), rtol=1e-12)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(layer.dx.reshape(8, 10), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_svm_hinge():
    x = np.random.default_rng(9).standard_normal((8, 5, 1, 1))
    y = np.random.default_rng(10).integers(0, 5, 8)
    layer = SVM((5, 1, 1), (5, 1, 1), {})
    layer.forward(x)
    loss = layer.backward(y)
    tx = torch.tensor(x.reshape(8, 5), requires_grad=True)
    # PyTorch divides the summed hinge by the number of classes; ConvNetJS's svm does not.
    tloss = F.multi_margin_loss(tx, torch.tensor(y), margin=1.0) * 5
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(layer.dx.reshape(8, 5), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_regression_l2():
    x = np.random.default_rng(11).standard_normal((8, 3, 1, 1))
    y = np.random.default_rng(12).standard_normal((8, 3))
    layer = Regression((3, 1, 1), (3, 1, 1), {})
    layer.forward(x)
    loss = layer.backward(y)
    tx = torch.tensor(x.reshape(8, 3), requires_grad=True)
    tloss = 0.5 * F.mse_loss(tx, torch.tensor(y), reduction='sum') / 8
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(layer.dx.reshape(8, 3), tx.grad.numpy(), rtol=1e-10)


def test_float32_conv_close_to_float64():
    """The browser runs float32: the FFT path must stay accurate there too."""
    layer = Conv((8, 12, 12), (16, 12, 12), {}, sx=5, sy=5, stride=1, pad=2, bias_pref=0.1,
                 rng=np.random.default_rng(1), dtype=np.float32)
    x = np.random.default_rng(2).standard_normal((4, 8, 12, 12)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    ref = F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(layer.params['w'], dtype=torch.float64),
                   torch.tensor(layer.params['b'], dtype=torch.float64), padding=2).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
