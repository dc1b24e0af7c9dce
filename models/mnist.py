"""Train, evaluate and use CNNs on MNIST with tinygrad_cnn.

    python models/mnist.py                                   # fetch MNIST, train LeNet-5, report
    python models/mnist.py train --model seed --epochs 3     # the student's original CNN
    python models/mnist.py train --model best --report       # best model, plots, report.html
    python models/mnist.py train --model lenet --profile     # per-layer time table for one epoch
    python models/mnist.py train --resume --out runs/lenet   # continue an interrupted run exactly
    python models/mnist.py train --train-dir Digit_training --test-dir Digit_testing  # PNG folders
    python models/mnist.py eval runs/lenet/checkpoint.npz    # test accuracy, per-digit table
    python models/mnist.py predict runs/lenet/checkpoint.npz my_digit.png --random-test

Models: `seed` is the student's CNN (conv 3x3 with 3 kernels -> sigmoid -> flatten -> per-sample
normalization -> dense 20 -> sigmoid -> dense 10; the last sigmoid became the softmax inside the
cross-entropy loss), `lenet` is LeNet-5, `best` is a 16/32-channel LeNet with batch norm trained
with +-2 pixel shifts. A checkpoint is written atomically after every epoch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
from tqdm import tqdm

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim, plots, rng
from tinygrad_cnn.data import Compose, DataLoader, Normalize, RandomShift
from tinygrad_cnn.datasets import (
    DataFileError,
    DatasetError,
    fashion_mnist,
    load_idx_pair,
    load_image_folder,
    mnist,
)
from tinygrad_cnn.datasets.fashion import CLASSES as FASHION_CLASSES
from tinygrad_cnn.datasets.preprocess import load_digit_image
from tinygrad_cnn.fileio import atomic_write
from tinygrad_cnn.memory import keep_freed_memory
from tinygrad_cnn.report import write_report
from tinygrad_cnn.viz import GraphvizNotFoundError

# ----------------------------------------------------------------------------- models


def seed_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.Sigmoid(), nn.Flatten(), nn.Normalization(),
        nn.Linear(3 * 26 * 26, 20), nn.Sigmoid(), nn.Linear(20, 10),
    )


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def best_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"seed": seed_model, "lenet": lenet, "best": best_model}

# per model: the recipe its accuracy claims were measured with (flags override)
RECIPES = {
    "seed": dict(epochs=3, batch_size=32, optimizer="sgd", lr=0.05, schedule="none", shift=0),
    "lenet": dict(epochs=5, batch_size=128, optimizer="adam", lr=1e-2, schedule="onecycle",
                  shift=0),
    "best": dict(epochs=6, batch_size=128, optimizer="adam", lr=4e-3, schedule="onecycle",
                 shift=2),
}

# ----------------------------------------------------------------------------- data


def load_data(args: argparse.Namespace) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(train images, labels), (test images, labels) from folders, IDX files or a named dataset."""
    if args.train_dir or args.test_dir:
        if not (args.train_dir and args.test_dir):
            raise ValueError("--train-dir and --test-dir go together")
        return load_image_folder(args.train_dir), load_image_folder(args.test_dir)
    if args.data:
        return idx_split(Path(args.data), "train"), idx_split(Path(args.data), "test")
    fetch = fashion_mnist if args.dataset == "fashion" else mnist
    return fetch("train"), fetch("test")


def idx_split(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A split from a folder of MNIST-named IDX files (raw or .gz)."""
    prefix = "train" if split == "train" else "t10k"
    names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    paths = []
    for name in names:
        found = [p for p in (directory / name, directory / f"{name}.gz") if p.is_file()]
        if not found:
            raise DataFileError(f"{directory}: no {name} or {name}.gz (--data wants MNIST's names)")
        paths.append(found[0])
    images, labels = load_idx_pair(paths[0], paths[1])
    return images, labels.astype(np.int64)


# ----------------------------------------------------------------------------- training


def make_optimizer(args: argparse.Namespace, model: nn.Module, steps: int):
    if args.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    elif args.optimizer == "adamw":
        opt = optim.AdamW(model.parameters(), lr=args.lr)
    else:
        opt = optim.Adam(model.parameters(), lr=args.lr)
    if args.schedule == "onecycle":
        return opt, optim.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    return opt, None


def train_step(model, opt, scheduler, x: tg.Tensor, y: tg.Tensor,
               monitor: tg.HealthMonitor | None = None) -> tuple[float, int]:
    with monitor.track() if monitor else nullcontext():
        logits = model(x)
    loss = tg.ops.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    if monitor:
        monitor.before_step()
    opt.step()
    if monitor:
        monitor.after_step()
    if scheduler is not None:
        scheduler.step()
    return loss.item(), int((logits.data.argmax(axis=1) == y.data).sum())


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside (batch norm uses its running statistics and leaves them alone), then each
    module goes back to the mode it had."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


@tg.no_grad()
def predict_proba(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities (N, 10) for uint8 images, in eval mode."""
    normalize = Normalize()
    with evaluating(model):
        probs = [model(tg.Tensor(normalize(images[i:i + batch_size, None]))).softmax(axis=1).data
                 for i in range(0, len(images), batch_size)]
    return np.concatenate(probs)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    return float((predict_proba(model, images).argmax(axis=1) == labels).mean())


def train(args: argparse.Namespace) -> dict:
    out = Path(args.out or f"runs/{args.model}")
    checkpoint_path = out / "checkpoint.npz"
    (train_x, train_y), (test_x, test_y) = load_data(args)
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
        test_x, test_y = test_x[:max(args.limit // 6, 1)], test_y[:max(args.limit // 6, 1)]

    tg.manual_seed(args.seed)
    model = MODELS[args.model]()
    augment = [RandomShift(args.shift)] if args.shift else []
    loader = DataLoader(train_x, train_y, args.batch_size, shuffle=True, seed=args.seed,
                        transform=Compose([*augment, Normalize()]))
    opt, scheduler = make_optimizer(args, model, args.epochs * len(loader))
    history = {"epoch": [], "train_acc": [], "test_acc": [], "train_loss": [], "seconds": [],
               "step_loss": [], "step_acc": []}
    start_epoch, kernels, health = 0, [], {}
    if args.resume and checkpoint_path.exists():
        start_epoch, history, kernels, health = restore(checkpoint_path, args, model, opt,
                                                        scheduler, loader)
        print(f"resumed {checkpoint_path} after epoch {start_epoch}")
    elif args.resume:
        print(f"no checkpoint at {checkpoint_path}: starting from scratch")

    config = vars(args) | {"train_size": len(train_x), "test_size": len(test_x)}
    # --profile times every op of the first epoch; --report samples health every 10th step
    profiler = tg.Profiler(model, batch_size=args.batch_size) if args.profile else None
    monitor = tg.HealthMonitor(model) if args.report else None
    print(f"{args.model}: {sum(p.size for p in model.parameters()):,} parameters, "
          f"{len(train_x):,} training images, {args.epochs} epochs of {len(loader)} steps")
    for epoch in range(start_epoch, args.epochs):
        loss_sum, correct, seen, t0 = 0.0, 0, 0, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch",
                   leave=False, disable=args.quiet)
        profiling = profiler is not None and epoch == start_epoch
        for step, (x, y) in enumerate(bar):
            with profiler if profiling else nullcontext():
                loss, hits = train_step(model, opt, scheduler, x, y,
                                        monitor if monitor and step % 10 == 0 else None)
            loss_sum, correct, seen = loss_sum + loss * len(y), correct + hits, seen + len(y)
            history["step_loss"].append(loss)
            history["step_acc"].append(hits / len(y))
            if step % 20 == 0:
                rate = seen / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{loss:.3f}", acc=f"{correct / seen:.3f}",
                                img_s=f"{rate:.0f}")
        seconds = time.perf_counter() - t0
        test_acc = evaluate(model, test_x, test_y)
        for key, value in (("epoch", epoch + 1), ("train_acc", correct / seen),
                           ("test_acc", test_acc), ("train_loss", loss_sum / seen),
                           ("seconds", seconds)):
            history[key].append(value)
        print(f"epoch {epoch + 1}: train acc {correct / seen:.4f}  test acc {test_acc:.4f}  "
              f"loss {loss_sum / seen:.4f}  {seconds:.1f}s")
        if profiling:
            print(profiler.table())
            profiler.to_json(out / "profile.json")
        if monitor:
            print(monitor.table())
            health[str(epoch + 1)] = monitor.summary(reset=True)
            kernels.append(first_conv(model).weight.data.copy())
        save_checkpoint(checkpoint_path, args, model, opt, scheduler, loader, epoch + 1, history,
                        kernels, health)

    final = history["test_acc"][-1] if history["test_acc"] else evaluate(model, test_x, test_y)
    print(f"test accuracy {final:.4f} ({100 * final:.2f}%) after {args.epochs} epochs, "
          f"{sum(history['seconds']):.1f}s of training; checkpoint {checkpoint_path}")
    write_json(out / "history.json", history | {"config": config})
    if args.report:
        write_json(out / "health.json", health)
        table = profiler.table() if profiler else None
        path = write_run_report(out, config, model, history, kernels, health, table, test_x, test_y)
        print(f"report: {path}")
    return history


def write_json(path: Path, value: dict) -> None:
    with atomic_write(path, "w") as f:  # a crash never leaves half a file behind
        json.dump(value, f, default=str)


# ----------------------------------------------------------------------------- report


def first_conv(model: nn.Module) -> nn.Conv2d:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d))


def write_run_report(out: Path, config: dict, model: nn.Module, history: dict, kernels: list,
                     health: dict, profile_table: str | None, test_x: np.ndarray,
                     test_y: np.ndarray) -> Path:
    """Plots of the run, the graph of the loss, and report.html that shows them all."""
    images = [("Loss and accuracy", plots.plot_history(history, out / "history.png"))]
    if kernels:
        images.append(("First conv layer's kernels, epoch by epoch",
                       plots.kernels_gif(kernels, out / "kernels.gif",
                                         titles=[f"epoch {i + 1}" for i in range(len(kernels))])))
        images.append(("Kernels after the last epoch",
                       plots.plot_kernels(kernels[-1], out / "kernels.png", "last epoch")))
    images.append(("Feature maps of a test image after every layer",
                   plots.plot_feature_maps(test_x[0], feature_maps(model, test_x[0]),
                                           out / "feature_maps.png")))
    probs = predict_proba(model, test_x)
    images.append(("Confusion matrix (test set)", plots.plot_confusion_matrix(
        test_y, probs.argmax(axis=1), out / "confusion.png", num_classes=10)))
    images.append(("The test images it got most confidently wrong",
                   plots.plot_most_confident_wrong(test_x, test_y, probs, out / "wrong.png")))
    graph = draw_loss_graph(model, test_x[:2], test_y[:2], out)
    epochs = [{key: history[key][i] for key in ("epoch", "train_loss", "train_acc", "test_acc",
                                                 "seconds")} for i in range(len(history["epoch"]))]
    last_health = health[max(health)] if health else None
    return write_report(out, config, epochs, profile_table, graph, images, last_health)


@tg.no_grad()
def feature_maps(model: nn.Module, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The output of every top-level layer for one image."""
    x, maps = tg.Tensor(Normalize()(image[None, None])), []
    with evaluating(model):
        for name, layer in model.named_children():
            x = layer(x)
            maps.append((f"{name} {type(layer).__name__}", x.data[0]))
    return maps


def draw_loss_graph(model: nn.Module, images: np.ndarray, labels: np.ndarray, out: Path):
    """The autograd graph of the loss on two test images, one cluster per layer, as SVG (or the
    .dot text when Graphviz is missing)."""
    x = tg.Tensor(Normalize()(images[:, None]))
    with evaluating(model):  # no running-statistics update from these two test images
        loss = tg.ops.cross_entropy(model(x), tg.Tensor(labels, dtype=None))
    loss.backward()  # so the picture shows every parameter's gradient
    dot = tg.draw_graph(loss, model=model, group_by_module=True)
    model.zero_grad()
    try:
        return tg.render_graph(dot, out / "graph.svg")
    except GraphvizNotFoundError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return out / "graph.dot"


# flags that shape the run: --resume refuses a checkpoint trained with other values
RUN_FLAGS = ("model", "epochs", "batch_size", "lr", "optimizer", "schedule", "shift", "dataset",
             "data", "train_dir", "test_dir", "limit", "seed")


def save_checkpoint(path: Path, args, model, opt, scheduler, loader, epoch: int, history,
                    kernels: list, health: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tg.save({
        "model_name": args.model,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "loader": loader.state_dict(),
        "rng": rng.get_rng_state(),
        "epoch": epoch,
        "config": json.dumps(vars(args), default=str),
        "history": json.dumps(history),
        "kernels": {str(i): k for i, k in enumerate(kernels)},  # for --report's GIF on resume
        "health": json.dumps(health),
    }, path)


def restore(path: Path, args, model, opt, scheduler, loader) -> tuple[int, dict, list, dict]:
    state = tg.load(path)
    name = str(state.get("model_name", ""))
    if name != args.model:
        raise ValueError(f"{path} holds a {name!r} model, not {args.model!r}")
    saved = json.loads(str(state["config"]))
    changed = [f"--{key.replace('_', '-')} {saved.get(key)} -> {getattr(args, key)}"
               for key in RUN_FLAGS if saved.get(key) != getattr(args, key)]
    if changed:
        raise ValueError(f"--resume: {path} was trained with other settings ({', '.join(changed)}"
                         "); resume with the same flags, or train into a new --out")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    loader.load_state_dict(state["loader"])
    rng.set_rng_state(state["rng"])
    kernels = [state["kernels"][str(i)] for i in range(len(state["kernels"]))]
    return (int(state["epoch"]), json.loads(str(state["history"])), kernels,
            json.loads(str(state["health"])))


def load_model(path: str) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was trained with and load its weights."""
    state = tg.load(path)
    name = str(state.get("model_name", ""))
    if name not in MODELS:
        raise ValueError(f"{path}: not a models/mnist.py checkpoint (model {name!r})")
    model = MODELS[name]()
    model.load_state_dict(state["model"])
    model.eval()
    return model, json.loads(str(state["config"]))


# ----------------------------------------------------------------------------- eval and predict


def evaluate_command(args: argparse.Namespace) -> None:
    model, config = load_model(args.checkpoint)
    fashion = config.get("dataset") == "fashion"
    if args.test_dir:
        images, labels = load_image_folder(args.test_dir)
    elif args.data:
        images, labels = idx_split(Path(args.data), "test")
    else:
        images, labels = (fashion_mnist if fashion else mnist)("test")
    predictions = predict_proba(model, images).argmax(axis=1)
    print(f"test accuracy {np.mean(predictions == labels):.4f} on {len(labels):,} images")
    names = FASHION_CLASSES if fashion else [str(d) for d in range(10)]
    print(f"{'class':>11}  images  accuracy")
    for k, name in enumerate(names):
        mask = labels == k
        accuracy = f"{np.mean(predictions[mask] == k):.4f}" if mask.any() else "-"
        print(f"{name:>11}  {mask.sum():>6}  {accuracy:>8}")


def predict_command(args: argparse.Namespace) -> None:
    model, config = load_model(args.checkpoint)
    fashion = config.get("dataset") == "fashion"
    inputs = [(path, load_digit_image(path, digit=not fashion), None) for path in args.images]
    if args.random_test:
        fetch = fashion_mnist if fashion else mnist
        images, labels = fetch("test")
        i = int(np.random.default_rng().integers(len(images)))
        inputs.append((f"test image #{i}", images[i], int(labels[i])))
    if not inputs:
        raise ValueError("give image files to predict, or --random-test")
    probs = predict_proba(model, np.stack([image for _, image, _ in inputs]))
    classes = FASHION_CLASSES if fashion else [str(d) for d in range(10)]
    for (name, _, label), p in zip(inputs, probs):
        truth = f" (true label {classes[label]})" if label is not None else ""
        print(f"{name}: {classes[int(p.argmax())]} with probability {p.max():.3f}{truth}")
        print("    " + "  ".join(f"{d}:{q:.3f}" for d, q in enumerate(p)))


# ----------------------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train a model (the default command)")
    t.add_argument("--model", choices=sorted(MODELS), default="lenet")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=["sgd", "adam", "adamw"])
    t.add_argument("--schedule", choices=["none", "onecycle"])
    t.add_argument("--shift", type=int, help="random +-pixel shift augmentation")
    t.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist")
    t.add_argument("--data", help="folder of MNIST-named IDX files (raw or .gz)")
    t.add_argument("--train-dir", help="PNG folder with one sub-folder per digit")
    t.add_argument("--test-dir", help="PNG folder with one sub-folder per digit")
    t.add_argument("--limit", type=int, help="a quick run on the first N training images and "
                   "the first N/6 test images (the accuracy printed is on those only)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="output folder (default runs/<model>)")
    t.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.npz")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--profile", action="store_true", help="per-layer time table, first epoch")
    t.add_argument("--report", action="store_true", help="plots, graph, health, report.html")
    e = sub.add_parser("eval", help="test accuracy of a checkpoint, per digit")
    e.add_argument("checkpoint")
    e.add_argument("--data", help="folder of MNIST-named IDX files (raw or .gz)")
    e.add_argument("--test-dir", help="PNG folder with one sub-folder per digit")
    p = sub.add_parser("predict", help="classify image files")
    p.add_argument("checkpoint")
    p.add_argument("images", nargs="*")
    p.add_argument("--random-test", action="store_true", help="also a random test image")
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train", *argv]  # `python models/mnist.py --model seed` means train
    args = parser.parse_args(argv)
    if args.command == "train":
        for key, value in RECIPES[args.model].items():
            if getattr(args, key) is None:
                setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    keep_freed_memory()  # reuse freed arrays' pages across steps (docs/benchmarks.md)
    try:
        {"train": train, "eval": evaluate_command, "predict": predict_command}[args.command](args)
    except (DatasetError, DataFileError, ValueError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # no repr quotes
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
