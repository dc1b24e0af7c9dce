"""Grad mode, the module scope and observers are per-thread state (as in PyTorch), so the
explorer's server can answer requests in threads without one request changing another's ops."""

from __future__ import annotations

import threading

import numpy as np

from tinygrad_cnn import Tensor, is_grad_enabled, nn, no_grad
from tinygrad_cnn.autograd import module_scope, observe
from tinygrad_cnn.engine import _state


def _in_thread(fn) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread)
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, done = threading.Event(), threading.Event()

    def hold_no_grad() -> None:
        with no_grad():
            inside.set()
            done.wait(timeout=30)
            assert not is_grad_enabled()

    holder = threading.Thread(target=hold_no_grad)
    holder.start()
    assert inside.wait(timeout=30)
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x * 2).sum()  # this thread still records while the other sits in no_grad
    done.set()
    holder.join(timeout=30)
    assert is_grad_enabled() and y._ctx is not None
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2, 2, 2])


def test_a_new_thread_starts_with_grad_on_and_empty_scopes():
    seen = {}

    def look() -> None:
        seen.update(grad=is_grad_enabled(), stack=list(_state.module_stack),
                    observers=list(_state.observers))

    layer = nn.ReLU()
    with no_grad(), module_scope(layer), observe(object()):
        _in_thread(look)
    assert seen == {"grad": True, "stack": [], "observers": []}


def test_an_observer_sees_only_its_own_threads_ops():
    class Count:
        forwards = 0

        def on_forward(self, ctx, out, seconds) -> None:
            self.forwards += 1

        def on_backward(self, ctx, grads, seconds) -> None:
            pass

    counter = Count()
    with observe(counter):
        _in_thread(lambda: Tensor(np.ones(2, np.float32)) * 3)
        Tensor(np.ones(2, np.float32)) + 1
    assert counter.forwards == 1
