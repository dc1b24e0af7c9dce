"""A training run's folder, as library calls for models/mnist.py: checked before training, locked
while training, one checkpoint per epoch (and one on Ctrl-C) that resumes exactly, JSON files,
outputs checked against inputs, and inference in eval mode."""

from __future__ import annotations

import json
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import rng
from .autograd import no_grad
from .fileio import atomic_write, open_regular
from .serialization import CheckpointError, load, save
from .tensor import Tensor

# the files a run writes into its folder; none of them may be a folder already
OUTPUTS = ("checkpoint.npz", "history.json", "health.json", "profile.json", "report.html",
           "history.png", "kernels.gif", "kernels.png", "feature_maps.png", "confusion.png",
           "wrong.png", "graph.svg", "graph.dot", "explorer.html")


LOCK = ".lock"  # holds the training process's PID while it trains (an flock, freed on exit)


class RunError(Exception):
    """A user's mistake about a run (its folder, flags or checkpoint); the message says what to
    do instead. Programs print it as one `error:` line."""


class Interrupted(Exception):
    """Training stopped on SIGINT or SIGTERM after writing a checkpoint; the message says how to
    continue. Programs print it and exit with status 130, as a shell does for Ctrl-C."""


class Run:
    """The folder of one training run: `out/checkpoint.npz` and the files in OUTPUTS."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.checkpoint = self.out / "checkpoint.npz"

    def prepare(self, overwrite: bool = False) -> None:
        """Create the folder and check that every output can be written there, before training
        spends any time: a file in the way, a read-only folder, an output that is a folder, or
        (unless `overwrite`) files named as outputs in a folder that holds no run's checkpoint,
        which no run here wrote."""
        if self.out.exists() and not self.out.is_dir():
            raise RunError(f"--out {self.out} is a file, not a folder: choose another --out")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.out).close()
        except OSError as error:
            raise RunError(f"--out {self.out} is not a writable folder "
                           f"({error.strerror or error}): choose another --out") from None
        for name in OUTPUTS:
            if (self.out / name).is_dir():
                raise RunError(f"{self.out / name} is a folder, where this run writes a file: "
                               "move it away or choose another --out")
        strangers = [name for name in OUTPUTS if (self.out / name).exists()]
        if strangers and not self.checkpoint.exists() and not overwrite:
            raise RunError(f"--out {self.out} holds {', '.join(strangers)} but no run's "
                           "checkpoint, so this program did not write them: move them away, "
                           "choose another --out, or replace them with --overwrite")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock file while training: a second run into the same folder is
        refused naming this one's process. The operating system frees the lock when the process
        ends, however it ends; the file stays (removing it would let two runs hold two files)."""
        try:
            import fcntl
        except ImportError:  # Windows: no flock, runs are not locked
            yield
            return
        path = self.out / LOCK
        try:  # the lock file itself: never through a link, never a FIFO (it would block)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as error:
            raise RunError(f"{path} cannot be the run's lock file ({error.strerror}); remove "
                           "it") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunError(f"{path} is not a regular file; remove it")
        with os.fdopen(fd, "r+", encoding="ascii") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                holder = f.read().strip() or "?"
                raise RunError(f"{self.out} is being trained by process {holder}; wait for it "
                               "to finish, or train into another --out") from None
            f.truncate(0)
            f.write(str(os.getpid()))
            f.flush()
            try:
                yield
            finally:
                f.truncate(0)

    def previous(self, resume: bool, overwrite: bool) -> dict[str, Any] | None:
        """The checkpoint to resume from, or None to start afresh. Without `resume` an existing
        run is never replaced silently: that needs `overwrite`."""
        if not self.checkpoint.exists():
            return None
        if overwrite and not resume:
            return None
        try:
            state = load(self.checkpoint)
        except CheckpointError as error:
            raise RunError(f"{error}; train into another --out, or replace it with "
                           "--overwrite") from None
        if not resume:
            raise RunError(f"{self.out} already holds a run ({describe(state)}); continue it "
                           "with --resume, train into another --out, or replace it with "
                           "--overwrite")
        return state

    def save(self, epoch: int, config: Mapping[str, Any], parts: Mapping[str, Any],
             history: dict, kernels: list[np.ndarray], health: dict,
             partial: Mapping[str, float] | None = None) -> None:
        """Checkpoint after `epoch`: `parts` maps "model", "optimizer", "scheduler" (None if
        there is none) and "loader" to objects with state_dict(); rng state and logs too.
        `partial`: the running sums of an epoch interrupted part-way (the loader's state says
        which batch comes next), from which --resume continues that epoch."""
        state = {key: part.state_dict() if part is not None else {} for key, part in parts.items()}
        save(state | {
            "model_name": config["model"],
            "rng": rng.get_rng_state(),
            "epoch": epoch,
            "config": json.dumps(dict(config), default=str),
            "history": json.dumps(history),
            "kernels": {str(i): k for i, k in enumerate(kernels)},  # for the report's GIF
            "health": json.dumps(health),
            "partial": json.dumps(dict(partial or {})),
        }, self.checkpoint)

    def restore(self, state: dict[str, Any], parts: Mapping[str, Any], extended: bool = False
                ) -> tuple[int, dict, list[np.ndarray], dict]:
        """Load a checkpoint's parts back (the same objects as `save`) and return (epoch,
        history, kernels, health). When the run is `extended` to more epochs, the scheduler is
        kept as built for the new total and only moved to the step the run had reached."""
        try:
            for key, part in parts.items():
                if part is None:
                    continue
                if key == "scheduler" and extended:
                    part.last_epoch = int(state[key]["last_epoch"]) - 1
                    part.step()
                else:
                    part.load_state_dict(state[key])
            rng.set_rng_state(state["rng"])
            kernels = [state["kernels"][str(i)] for i in range(len(state["kernels"]))]
            return (epochs_done(state, self.checkpoint), json.loads(str(state["history"])),
                    kernels, json.loads(str(state["health"])))
        except KeyError as error:
            raise CheckpointError(f"{self.checkpoint}: no {error.args[0]!r} in the "
                                  "checkpoint; it was not written by this program") from None

    def partial(self, state: Mapping[str, Any]) -> dict[str, float]:
        """The running sums of the epoch an interrupted run stopped in ({} after a whole one)."""
        try:
            partial = json.loads(str(state.get("partial", "{}")))
        except ValueError:
            partial = None
        if not isinstance(partial, dict):
            raise CheckpointError(f"{self.checkpoint}: its 'partial' entry is damaged")
        return partial

    def write_json(self, name: str, value: Mapping[str, Any]) -> Path:
        path = self.out / name
        with atomic_write(path, "w") as f:
            json.dump(value, f, default=str)
        return path


def epochs_done(state: Mapping[str, Any], where: Any = "the checkpoint") -> int:
    """The checkpoint's completed epochs: an integer from 0 to the epochs it planned."""
    epoch = state.get("epoch")
    planned = saved_config(state).get("epochs") if "config" in state else None
    whole = isinstance(epoch, (int, np.integer)) and not isinstance(epoch, bool)
    if not whole or epoch < 0 or (isinstance(planned, int) and epoch > planned):
        raise CheckpointError(f"{where}: it claims epoch {epoch!r}, which no run reaches (0 to "
                              f"{planned if planned is not None else 'its epochs'}); it is "
                              "damaged or was not written by this program")
    return int(epoch)


@contextmanager
def interruptible() -> Iterator[Callable[[], bool]]:
    """Inside, SIGINT (Ctrl-C) and SIGTERM do not raise: they set a flag that the training loop
    reads after each step (the returned function), so it can finish the step and checkpoint.
    Outside the main thread (where signals cannot be caught) the flag never rises."""
    asked: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {kind: signal.signal(kind, lambda number, frame: asked.append(number))
                for kind in kinds}
    try:
        yield lambda: bool(asked)
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler)


def check_outputs(outputs: Mapping[str, str | None], inputs: Mapping[str, str | None],
                  overwrite: bool) -> None:
    """Refuse, before any work, an output (flag -> path) that is one of the command's inputs
    (name -> file, or a folder it reads from, by resolved path), that another output also
    names, that is a folder, or that exists without being a file this library wrote (unless
    `overwrite`). Nothing a command was given is ever its output."""
    given = {flag: path for flag, path in outputs.items() if path}
    for flag, path in given.items():
        for name, source in inputs.items():
            # an IDX --data folder is read by its files' names: a new file beside them is no
            # input (as check_run_folder), an existing one may be; in an image folder every
            # file is data
            beside = name.startswith("--data") and not os.path.exists(path)
            if source and _same_or_inside(path, source) and not beside:
                raise RunError(f"{flag} {path} is the {name} this command reads ({source}); "
                               "write to another path")
        twins = [other for other, p in given.items() if other != flag and _same_or_inside(p, path)]
        if twins:
            raise RunError(f"{flag} and {twins[0]} both name {path}; give each its own path")
        if os.path.isdir(path):
            raise RunError(f"{flag} {path} is a folder; give a file path")
        if os.path.exists(path) and not overwrite and not written_here(path):
            raise RunError(f"{flag} {path} exists and was not written by tinygrad_cnn; choose "
                           "another path, or replace it with --overwrite")


def check_run_folder(out: str, data: Mapping[str, str | None]) -> None:
    """A run's folder is none of its data folders (flag -> folder), nor inside an image folder
    (where its files would become part of the data)."""
    for flag, folder in data.items():
        if folder and (_same_or_inside(out, folder) if flag != "--data" else
                       os.path.realpath(out) == os.path.realpath(folder)):
            raise RunError(f"--out {out} is the {flag} folder this command reads ({folder}); "
                           "train into another --out")


def _same_or_inside(path: str, source: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(source)
    if real == base or (os.path.isdir(base) and real.startswith(base.rstrip(os.sep) + os.sep)):
        return True
    try:
        return os.path.samefile(path, source)  # hard links
    except OSError:
        return False


# what we write carries our mark where its format keeps such a note, just after its magic: the
# PNG Software text, the explorer page's generator meta tag, ONNX's producer_name (field 2, after
# ir_version) and the safetensors metadata. The mark alone is not enough: every source file and
# note about this library holds the word "tinygrad_cnn"
MARKS = ((0, b"\x89PNG\r\n\x1a\n", b"tEXtSoftware\x00tinygrad_cnn"),
         (0, b"<!DOCTYPE html>", b'<meta name="generator" content="tinygrad_cnn">'),
         (0, b"\x08", b"\x12\x0ctinygrad_cnn"),
         (8, b'{"__metadata__":{"producer":"tinygrad_cnn"}', b""))


def written_here(path: str) -> bool:
    """Whether the regular file `path` is one of the kinds this library writes, carrying its
    mark (MARKS) in its first 4 KiB."""
    try:
        with open_regular(path, RunError) as f:
            head = f.read(4096)
    except (OSError, RunError):
        return False
    return any(head.startswith(magic, offset) and mark in head
               for offset, magic, mark in MARKS)


def saved_config(state: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint was trained with (its "config" entry)."""
    try:
        config = json.loads(str(state["config"]))
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"the checkpoint has no readable 'config' ({error})") from None
    if not isinstance(config, dict):
        raise CheckpointError("the checkpoint's 'config' is not a dict of settings")
    return config


def describe(state: Mapping[str, Any]) -> str:
    """'lenet, 5 of 5 epochs': what a checkpoint holds, for messages."""
    try:
        planned = saved_config(state).get("epochs", "?")
        return f"{state['model_name']}, {int(state['epoch'])} of {planned} epochs"
    except (CheckpointError, KeyError, TypeError, ValueError):
        return "a checkpoint this program did not write"


def load_trained(path: str | os.PathLike[str], builders: Mapping[str, Callable[[], Any]]
                 ) -> tuple[Any, dict[str, Any]]:
    """The model a checkpoint was trained with (built by `builders[its model name]`, weights
    loaded, eval mode) and its settings. Errors name the file."""
    if not Path(path).is_file():
        raise RunError(f"{path}: no such checkpoint file (train writes <out>/checkpoint.npz)")
    state = load(path)
    name = str(state.get("model_name", ""))
    if name not in builders:
        raise CheckpointError(f"{path}: not a checkpoint of this program (model {name!r}; "
                              f"known: {', '.join(builders)})")
    model = builders[name]()
    try:
        model.load_state_dict(state["model"])
        config = saved_config(state)
    except (CheckpointError, KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: the {name} weights do not load: {error}") from None
    model.eval()
    return model, config


def resume_settings(state: Mapping[str, Any], settings: dict[str, Any], given: Iterable[str],
                    run_flags: Iterable[str],
                    absent: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings to resume with: the saved run's `run_flags`, except those given on the
    command line, which must match the saved ones; only --epochs may grow (at least to the
    epochs done). `absent`: the value of a flag a checkpoint saved before that flag existed
    was trained with. Raises RunError naming every changed flag."""
    saved, given, done = dict(absent or {}) | saved_config(state), set(given), epochs_done(state)
    merged, changed = dict(settings), []
    for key in run_flags:
        if key not in given:
            merged[key] = saved.get(key, settings[key])
        elif saved.get(key) != settings[key] and key != "epochs":
            changed.append(f"--{key.replace('_', '-')} {saved.get(key)} -> {settings[key]}")
    if changed:
        raise RunError(f"--resume: the run was trained with other settings ({', '.join(changed)})"
                       "; resume with the same flags, or train into another --out")
    if merged["epochs"] < done:
        raise RunError(f"--resume --epochs {merged['epochs']}: the run has already done {done} "
                       "epochs; give at least that many")
    return merged


@contextmanager
def evaluating(model: Any) -> Iterator[Any]:
    """Eval mode inside (batch norm uses its running statistics and leaves them alone), then each
    module goes back to the mode it had."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


@no_grad()
def predict_proba(model: Any, images: np.ndarray, transform: Callable[[np.ndarray], np.ndarray],
                  batch_size: int = 1000) -> np.ndarray:
    """Class probabilities (N, classes) for images (N, H, W), in eval mode."""
    with evaluating(model):
        probs = [model(Tensor(transform(images[i:i + batch_size, None]))).softmax(axis=1).data
                 for i in range(0, len(images), batch_size)]
    return np.concatenate(probs)
