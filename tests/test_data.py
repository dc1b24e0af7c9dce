"""Tests for DataLoader (batching, seeded shuffling, exact resume) and the batch transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_cnn.data import Compose, DataLoader, Normalize, RandomShift, shift_images
from tinygrad_cnn.tensor import Tensor


def dataset(n: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose first pixel is their index mod 256, labels equal to the index."""
    images = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    return images, np.arange(n)


def epoch_labels(loader: DataLoader) -> list[int]:
    return [int(v) for _, y in loader for v in y.data]


def shift_reference(x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-image loop: roll, then zero the rows and columns that wrapped around."""
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(offsets):
        rolled = np.roll(x[i], (dy, dx), axis=(-2, -1))
        if dy > 0:
            rolled[..., :dy, :] = 0
        elif dy < 0:
            rolled[..., dy:, :] = 0
        if dx > 0:
            rolled[..., :dx] = 0
        elif dx < 0:
            rolled[..., dx:] = 0
        out[i] = rolled
    return out


# ----- batching ------------------------------------------------------------------------------

def test_batches_are_tensors_of_the_right_shape_and_dtype() -> None:
    images, labels = dataset(10)
    loader = DataLoader(images, labels, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [x.shape for x, _ in batches] == [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]
    x, y = batches[0]
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert x.data.dtype == np.float32 and y.data.dtype == np.int64
    assert not x.requires_grad


def test_drop_last() -> None:
    images, labels = dataset(10)
    loader = DataLoader(images, labels, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [y.shape for _, y in loader] == [(4,), (4,)]
    assert len(DataLoader(images, labels, batch_size=5, drop_last=True)) == 2


def test_without_transform_pixels_are_scaled_to_unit_range() -> None:
    images, labels = dataset(3)
    x, y = next(iter(DataLoader(images, labels, batch_size=3)))
    np.testing.assert_array_equal(x.data[:, 0], images.astype(np.float32) / 255)
    np.testing.assert_array_equal(y.data, labels)


def test_unshuffled_order_is_the_data_order() -> None:
    assert epoch_labels(DataLoader(*dataset(10), batch_size=3)) == list(range(10))


def test_shuffled_epoch_covers_every_index_once_and_pairs_stay_together() -> None:
    images, labels = dataset(103)
    loader = DataLoader(images, labels, batch_size=16, shuffle=True, seed=3)
    for _ in range(3):
        seen = []
        for x, y in loader:
            np.testing.assert_array_equal(np.rint(x.data[:, 0, 0, 0] * 255), y.data % 256)
            seen += y.data.tolist()
        assert sorted(seen) == list(range(103)) and seen != list(range(103))


def test_same_seed_same_order_and_epochs_differ() -> None:
    a = DataLoader(*dataset(50), batch_size=8, shuffle=True, seed=7)
    b = DataLoader(*dataset(50), batch_size=8, shuffle=True, seed=7)
    c = DataLoader(*dataset(50), batch_size=8, shuffle=True, seed=8)
    first_a, first_b, first_c = epoch_labels(a), epoch_labels(b), epoch_labels(c)
    assert first_a == first_b and first_a != first_c
    assert epoch_labels(a) != first_a  # the next epoch reshuffles
    assert a.epoch == 2


def test_resume_mid_epoch_gives_identical_remaining_batches(tmp_path: Path) -> None:
    images, labels = dataset(37)

    def make(seed: int | None) -> DataLoader:
        transform = Compose([RandomShift(2), Normalize()])
        return DataLoader(images, labels, batch_size=5, shuffle=True, seed=seed,
                          transform=transform)

    reference = make(11)
    expected = [(x.data, y.data) for _ in range(3) for x, y in reference]

    first = make(11)
    got = [(x.data, y.data) for x, y in first]  # epoch 0
    for x, y in first:  # stop inside epoch 1, saving the state as a training loop would
        got.append((x.data, y.data))
        if len(got) == 11:
            np.savez(tmp_path / "state.npz", **first.state_dict())
            break
    resumed = make(None)  # a fresh process: its own seed, overwritten by the saved state
    with np.load(tmp_path / "state.npz", allow_pickle=False) as saved:
        resumed.load_state_dict(dict(saved))
    for _ in range(2):
        got += [(x.data, y.data) for x, y in resumed]
    assert len(got) == len(expected) == 3 * 8
    for (x, y), (ex, ey) in zip(got, expected):
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)


def test_stopping_after_the_last_batch_moves_to_the_next_epoch() -> None:
    loader = DataLoader(*dataset(6), batch_size=3, shuffle=True, seed=1)
    reference = DataLoader(*dataset(6), batch_size=3, shuffle=True, seed=1)
    list(reference)
    iterator = iter(loader)
    next(iterator)
    next(iterator)  # both batches taken, generator not exhausted
    assert loader.state_dict()["batch"] == 2
    assert epoch_labels(loader) == epoch_labels(reference)


def test_augmentation_differs_between_batches_and_epochs() -> None:
    images = np.zeros((8, 28, 28), np.uint8)
    images[:, 12:16, 12:16] = 255  # identical images: any difference comes from the shifts
    loader = DataLoader(images, np.zeros(8, int), batch_size=4, seed=0, transform=RandomShift(2))
    epoch0 = [x.data for x, _ in loader]
    epoch1 = [x.data for x, _ in loader]
    assert not np.array_equal(epoch0[0], epoch0[1])
    assert not np.array_equal(epoch0[0], epoch1[0])
    assert not np.array_equal(epoch0[1], epoch1[1])


def test_state_from_another_loader_is_refused() -> None:
    state = DataLoader(*dataset(10), batch_size=4, seed=0).state_dict()
    with pytest.raises(ValueError, match="batch_size=4, this one has batch_size=5"):
        DataLoader(*dataset(10), batch_size=5).load_state_dict(state)


def test_state_is_plain_integers() -> None:
    state = DataLoader(*dataset(10), batch_size=4).state_dict()
    assert all(type(v) is int for v in state.values())
    assert 0 <= state["seed"] < 2**63


def test_argument_checks() -> None:
    images, labels = dataset(4)
    with pytest.raises(ValueError, match=r"labels \(N,\), got \(4, 28, 28\) and \(3,\)"):
        DataLoader(images, labels[:3])
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but "
                                         "got batch_size=0"):
        DataLoader(images, labels, batch_size=0)
    with pytest.raises(ValueError, match="seed must lie in"):
        DataLoader(images, labels, seed=-1)


def test_loader_does_not_modify_its_data() -> None:
    images, labels = dataset(8)
    original = images.copy()
    list(DataLoader(images, labels, batch_size=3, transform=Compose([RandomShift(2),
                                                                     Normalize()])))
    np.testing.assert_array_equal(images, original)


def test_transform_sees_uint8_nchw_batches_and_a_generator() -> None:
    seen = []

    def record(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        seen.append((x.shape, x.dtype, isinstance(rng, np.random.Generator)))
        return x

    list(DataLoader(*dataset(5), batch_size=4, transform=record))
    assert seen == [((4, 1, 28, 28), np.uint8, True), ((1, 1, 28, 28), np.uint8, True)]


# ----- transforms ----------------------------------------------------------------------------

def test_normalize_matches_the_formula_for_every_pixel_value() -> None:
    x = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    out = Normalize()(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, (x / 255 - 0.1307) / 0.3081, rtol=1e-6, atol=1e-6)
    custom = Normalize(mean=0.5, std=0.25)(x)
    np.testing.assert_allclose(custom, (x / 255 - 0.5) / 0.25, rtol=1e-6, atol=1e-6)


def test_normalize_takes_float_input_as_unit_range() -> None:
    x = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 1, 2, 2)
    np.testing.assert_allclose(Normalize()(x), (x - 0.1307) / 0.3081, rtol=1e-6)


def test_loader_with_normalize_yields_normalized_pixels() -> None:
    images, labels = dataset(4)
    x, _ = next(iter(DataLoader(images, labels, batch_size=4, transform=Normalize())))
    np.testing.assert_allclose(x.data[:, 0], (images / 255 - 0.1307) / 0.3081, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("shape", [(6, 28, 28), (6, 1, 28, 28), (6, 3, 5, 7)])
def test_shift_matches_a_per_image_loop(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 256, shape, dtype=np.uint8)
    offsets = np.array([[0, 0], [2, 0], [0, -2], [-2, 2], [1, -1], [-1, -2]])
    out = shift_images(x, offsets, 2)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, shift_reference(x, offsets))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 5), h=st.integers(1, 9), w=st.integers(1, 9), m=st.integers(0, 4),
       seed=st.integers(0, 2**32 - 1))
def test_shift_property_against_reference(n: int, h: int, w: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, h, w)).astype(np.float32)
    offsets = rng.integers(-m, m + 1, (n, 2))
    np.testing.assert_array_equal(shift_images(x, offsets, m), shift_reference(x, offsets))


def test_shift_rejects_offsets_beyond_max_shift() -> None:
    x = np.zeros((2, 1, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"entries in \[-1, 1\]"):
        shift_images(x, np.array([[0, 0], [2, 0]]), 1)
    with pytest.raises(ValueError, match=r"offsets must have shape \(2, 2\)"):
        shift_images(x, np.zeros((3, 2), int), 1)


def test_random_shift_is_seeded_bounded_and_varied() -> None:
    x = np.zeros((200, 1, 28, 28), np.uint8)
    x[:, 0, 10:18, 10:18] = 255  # content away from the border: shifting keeps all of it
    shift = RandomShift(3)
    a = shift(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, shift(x, np.random.default_rng(5)))
    assert (a.reshape(200, -1).sum(1) == x.reshape(200, -1).sum(1)).all()
    rows = np.argmax(a[:, 0].any(axis=2), axis=1) - 10  # dy of each image
    cols = np.argmax(a[:, 0].any(axis=1), axis=1) - 10  # dx of each image
    assert set(rows.tolist()) == set(cols.tolist()) == set(range(-3, 4))
    np.testing.assert_array_equal(RandomShift(0)(x, np.random.default_rng(0)), x)


def test_compose_applies_in_order() -> None:
    def add_one(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x + 1

    def double(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x * 2

    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(Compose([add_one, double])(x, np.random.default_rng()), [4, 6])
    np.testing.assert_array_equal(Compose([double, add_one])(x, np.random.default_rng()), [3, 5])


def test_peeking_with_next_iter_does_not_shorten_the_next_loop() -> None:
    loader = DataLoader(*dataset(6), batch_size=3, shuffle=True, seed=4)
    reference = DataLoader(*dataset(6), batch_size=3, shuffle=True, seed=4)
    x, y = next(iter(loader))  # the PyTorch habit: look at one batch first
    assert list(y.data) == epoch_labels(reference)[:3]  # the peek saw epoch 0
    assert epoch_labels(loader) == epoch_labels(reference)  # then a whole epoch 1
    assert loader.state_dict()["epoch"] == 2 and loader.state_dict()["batch"] == 0


def test_each_iter_starts_an_epoch_but_a_restored_position_continues_once() -> None:
    loader = DataLoader(*dataset(10), batch_size=3, shuffle=True, seed=2)
    reference = DataLoader(*dataset(10), batch_size=3, shuffle=True, seed=2)
    epochs = [epoch_labels(reference) for _ in range(3)]
    iterator = iter(loader)
    next(iterator)
    next(iterator)
    state = loader.state_dict()
    assert (state["epoch"], state["batch"]) == (0, 2)
    loader.load_state_dict(state)
    assert epoch_labels(loader) == epochs[0][6:]  # continues epoch 0 from batch 2
    next(iter(loader))
    assert loader.state_dict()["batch"] == 1
    assert epoch_labels(loader) == epochs[2]  # the peek took epoch 1; no resume pending
