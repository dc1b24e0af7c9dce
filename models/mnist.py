"""Train, evaluate and use CNNs on MNIST with tinygrad_cnn.

    python models/mnist.py                                   # fetch MNIST, train LeNet-5
    python models/mnist.py train --model seed --epochs 3     # the student's original CNN
    python models/mnist.py train --model best --report       # best model, plots, report.html
    python models/mnist.py train --model lenet --profile     # per-layer time table, first epoch
    python models/mnist.py train --resume --out runs/lenet   # continue an interrupted run exactly
    python models/mnist.py train --resume --out runs/lenet --epochs 8   # or extend it
    python models/mnist.py train --train-dir Digit_training --test-dir Digit_testing  # PNG folders
    python models/mnist.py eval runs/lenet/checkpoint.npz    # test accuracy, per-digit table
    python models/mnist.py predict runs/lenet/checkpoint.npz my_digit.png --show-input seen.png
    python models/mnist.py export runs/lenet/checkpoint.npz runs/lenet/lenet.onnx  # ONNX Runtime
    python models/mnist.py explore runs/lenet/checkpoint.npz # watch it think, in your browser
    python models/mnist.py train --help                      # every flag, each model's recipe

Models: `seed` is the student's CNN (conv 3x3 with 3 kernels -> sigmoid -> flatten -> per-sample
normalization -> dense 20 -> sigmoid -> dense 10; the last sigmoid became the softmax inside the
cross-entropy loss), `lenet` is LeNet-5, `best` is a 16/32-channel LeNet with batch norm trained
with +-2 pixel shifts, `fast` an 8/16-channel LeNet with batch norm that reaches 99% in one epoch.
A checkpoint is written atomically after every epoch, and on Ctrl-C (or SIGTERM) after the current
step, from which `train --resume` continues. No command writes over a file it was given, or over
a file it did not write without --overwrite.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack, nullcontext

import numpy as np
from tqdm import tqdm

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim, runs
from tinygrad_cnn.cli import HelpFormatter, Parser, number, typed_flags
from tinygrad_cnn.data import Compose, DataLoader, Normalize, RandomShift
from tinygrad_cnn.datasets import (
    DataFileError,
    DatasetError,
    fashion_mnist,
    load_idx_split,
    load_image_folder,
    mnist,
)
from tinygrad_cnn.datasets.fashion import CLASSES as FASHION_CLASSES
from tinygrad_cnn.datasets.preprocess import load_digit_image, save_gray
from tinygrad_cnn.fileio import WriteError
from tinygrad_cnn.health import format_health
from tinygrad_cnn.ops import compiled

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


def fast_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"seed": seed_model, "lenet": lenet, "best": best_model, "fast": fast_model}

# per model: the recipe its accuracy claims were measured with; these are the flags' defaults
RECIPES = {
    "seed": dict(epochs=3, batch_size=32, optimizer="sgd", lr=0.05, schedule="none", shift=0,
                 label_smoothing=0.0),
    "lenet": dict(epochs=5, batch_size=128, optimizer="adam", lr=1e-2, schedule="onecycle",
                  shift=0, label_smoothing=0.0),
    "best": dict(epochs=7, batch_size=128, optimizer="adam", lr=4e-3, schedule="onecycle",
                 shift=2, label_smoothing=0.1),
    "fast": dict(epochs=1, batch_size=64, optimizer="adam", lr=1e-2, schedule="onecycle",
                 shift=0, label_smoothing=0.0),
}
# what a checkpoint saved before a flag existed was trained with, for --resume
FLAGS_BEFORE_THEY_EXISTED = {"label_smoothing": 0.0}
# the test accuracy whose first arrival (in training seconds) a run reports, as torch_train.py;
# Fashion-MNIST's are the usual accuracy of such CNNs on it (LeNet-5 about 89%), not MNIST's
TARGETS = {"mnist": {"seed": 0.92, "lenet": 0.99, "best": 0.9955, "fast": 0.99},
           "fashion": {"seed": 0.80, "lenet": 0.88, "best": 0.91, "fast": 0.87}}
# the flags that shape a run: --resume keeps them (only --epochs may grow)
RUN_FLAGS = ("model", *RECIPES["seed"], "dataset", "data", "train_dir", "test_dir", "limit",
             "seed")
IDX_ENV = "TINYGRAD_CNN_IDX_DIR"  # the default of --data: a folder of your own IDX files
NORMALIZE = Normalize()  # uint8 pixels -> MNIST's standardised floats
DIGITS = [str(d) for d in range(10)]
MAX_EXPLORER_IMAGES = 200  # each is traced forward and backward for the page: minutes beyond
BAR_SECONDS = 0.25  # the progress bar redraws a few times per second, not every step

# ----------------------------------------------------------------------------- command line


def data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=os.environ.get(IDX_ENV),
                   help=f"folder of MNIST-named IDX files, raw or .gz (default: ${IDX_ENV})")
    p.add_argument("--test-dir", help="image folder with one sub-folder per class, 0..9")


def train_arguments(p: argparse.ArgumentParser, model: str) -> None:
    recipe = RECIPES[model]
    p.add_argument("--model", choices=sorted(MODELS), default=model, help="which CNN to train")
    p.add_argument("--epochs", type=number(int, 1), default=recipe["epochs"],
                   help="passes over the training set")
    p.add_argument("--batch-size", type=number(int, 1), default=recipe["batch_size"],
                   help="images per step")
    p.add_argument("--lr", type=number(float, 0, strict=True), default=recipe["lr"],
                   help="learning rate (onecycle: its peak)")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"],
                   default=recipe["optimizer"], help="sgd has momentum 0.9")
    p.add_argument("--schedule", choices=["none", "onecycle"], default=recipe["schedule"],
                   help="learning-rate schedule, stepped every batch")
    p.add_argument("--shift", type=number(int, 0), default=recipe["shift"],
                   help="random +-pixel shift augmentation")
    p.add_argument("--label-smoothing", type=number(float, 0, maximum=1),
                   default=recipe["label_smoothing"],
                   help="cross-entropy label smoothing, 0..1 (as PyTorch's)")
    p.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist",
                   help="the named dataset, when neither --data nor the folders are given")
    data_arguments(p)
    p.add_argument("--train-dir", help="image folder with one sub-folder per class, 0..9")
    p.add_argument("--limit", type=number(int, 1), help="a quick run on the first N training "
                   "images and the first N/6 test images (accuracy is on those only)")
    p.add_argument("--seed", type=number(int, 0), default=0, help="seeds weights and shuffling")
    p.add_argument("--target", type=number(float, 0), help="report the training seconds when "
                   f"test accuracy first reaches this (default: {TARGETS['mnist'][model]}, "
                   f"{TARGETS['fashion'][model]} for --dataset fashion)")
    p.add_argument("--out", help=f"the run's folder (default: runs/{model}, "
                   f"runs/{model}-fashion for --dataset fashion)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out (with a larger --epochs: extend it)")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--profile", action="store_true", help="per-layer time table, first epoch")
    p.add_argument("--report", action="store_true", help="plots, graph, health, report.html")
    p.set_defaults(run=train)


def overwrite_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file that tinygrad_cnn did not write")


def recipes_epilog() -> str:
    lines = ["recipes: the defaults of these flags per --model (`--model seed --help` shows "
             "seed's above)"]
    for name, recipe in RECIPES.items():
        flags = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in recipe.items())
        lines.append(f"  {name:<6} {flags}")
    return "\n".join(lines)


def build_parser(model: str) -> argparse.ArgumentParser:
    """The parser, with `model`'s recipe as the training flags' defaults. A new command is one
    more `add_parser` call and a function that fills its arguments and sets `run`."""
    parser = Parser(description=__doc__.split("\n")[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", metavar="command")
    common = dict(formatter_class=HelpFormatter, allow_abbrev=False)
    train_arguments(sub.add_parser("train", help="train a model (the default command)",
                                   epilog=recipes_epilog(), **common), model)
    e = sub.add_parser("eval", help="test accuracy of a checkpoint, per class", **common)
    e.add_argument("checkpoint", help="a checkpoint.npz written by train")
    data_arguments(e)
    e.set_defaults(run=evaluate_command)
    p = sub.add_parser("predict", help="classify image files", **common)
    p.add_argument("checkpoint", help="a checkpoint.npz written by train")
    p.add_argument("images", nargs="*", help="photos or drawings, one digit each")
    p.add_argument("--random-test", action="store_true", help="also a random test image")
    p.add_argument("--show-input", metavar="PATH",
                   help="write the 28x28 image(s) the model saw to PATH (a PNG)")
    overwrite_argument(p)
    data_arguments(p)
    p.set_defaults(run=predict_command)
    x = sub.add_parser("export", help="write a checkpoint's model as ONNX (docs/moving_on.md)",
                       **common)
    x.add_argument("checkpoint", help="a checkpoint.npz written by train")
    x.add_argument("out", help="the .onnx file to write")
    x.add_argument("--safetensors", metavar="PATH", help="also write the weights to PATH, "
                   "a .safetensors file PyTorch's load_state_dict takes")
    overwrite_argument(x)
    x.set_defaults(run=export_command)
    x = sub.add_parser("explore", help="watch a checkpoint think: layers, kernels, gradients",
                       **common)
    x.add_argument("checkpoint", help="a checkpoint.npz written by train")
    x.add_argument("--host", default="127.0.0.1", help="address to serve on (this machine only)")
    x.add_argument("--port", type=number(int, 0, maximum=65535), default=8000,
                   help="port (0: any free one)")
    x.add_argument("--static", metavar="OUT.html", help="write one self-contained page instead")
    overwrite_argument(x)
    x.add_argument("--images", type=number(int, 1, maximum=MAX_EXPLORER_IMAGES), default=10,
                   help="test images to pick from (each is traced forward and backward)")
    data_arguments(x)
    x.set_defaults(run=explore_command)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train", *argv]  # `python models/mnist.py --model seed` means train
    peek = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    peek.add_argument("--model", default="lenet")
    model = peek.parse_known_args(argv)[0].model  # its recipe becomes the defaults
    args = build_parser(model if model in RECIPES else "lenet").parse_args(argv)
    # the flags typed on the command line: --resume takes the others from the checkpoint
    args.given = typed_flags(argv)
    return args


# ----------------------------------------------------------------------------- data


def load_split(args: argparse.Namespace, split: str, dataset: str) -> tuple[np.ndarray, ...]:
    """(images, labels) of `split` from an image folder, IDX files or the named dataset; each
    checked (labels 0..9, images uint8 or floats in [0, 1]) with errors naming the file."""
    if split == "train" and bool(args.train_dir) != bool(args.test_dir):
        raise runs.RunError("--train-dir and --test-dir go together")
    folder = args.test_dir if split == "test" else getattr(args, "train_dir", None)
    if folder:
        return load_image_folder(folder, num_classes=10)
    if args.data:
        return load_idx_split(args.data, split, num_classes=10, image_shape=(28, 28))
    return (fashion_mnist if dataset == "fashion" else mnist)(split)


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


def warm_up_kernels() -> None:
    """Load the compiled kernels (ops/compiled.py: pooling, batch norm, every recipe's
    optimizer) before the clock starts, as PyTorch's load at import: numba's first load takes
    0.2-0.3 s from its cache (1-2 s the first time ever), which the first epoch's seconds
    would otherwise include."""
    if compiled.enabled():
        compiled.warm_up()


def train_step(model, opt, scheduler, x: tg.Tensor, y: tg.Tensor,
               monitor: tg.HealthMonitor | None = None,
               label_smoothing: float = 0.0) -> tuple[float, int]:
    with monitor.track() if monitor else nullcontext():
        logits = model(x)
    loss = tg.ops.cross_entropy(logits, y, label_smoothing=label_smoothing)
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


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    return float((runs.predict_proba(model, images, NORMALIZE).argmax(axis=1) == labels).mean())


def train(args: argparse.Namespace) -> dict:
    args.out = args.out or f"runs/{args.model}" + ("-fashion" if args.dataset == "fashion" else "")
    runs.check_run_folder(args.out, {"--data": args.data, "--train-dir": args.train_dir,
                                     "--test-dir": args.test_dir})
    run = runs.Run(args.out)
    run.prepare(args.overwrite)  # a bad --out fails now, not after an epoch
    with run.locked(), ExitStack() as stack:  # a second run into this folder is refused
        return train_locked(args, run, stack)


def interrupted(run: runs.Run, where: str) -> runs.Interrupted:
    return runs.Interrupted(f"interrupted after {where}; {run.checkpoint} holds it. Continue "
                            f"with:\n  python models/mnist.py train --resume --out {run.out}")


def train_locked(args: argparse.Namespace, run: runs.Run, stack: ExitStack) -> dict:
    state = run.previous(args.resume, args.overwrite)
    if args.resume and state is None:
        print(f"no checkpoint at {run.checkpoint}: starting from scratch")
    if state is not None:
        vars(args).update(runs.resume_settings(state, vars(args), args.given, RUN_FLAGS,
                                               FLAGS_BEFORE_THEY_EXISTED))
    if args.target is None:
        args.target = TARGETS[args.dataset][args.model]
    (train_x, train_y), (test_x, test_y) = (load_split(args, s, args.dataset)
                                            for s in ("train", "test"))
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
        test_x, test_y = test_x[:max(args.limit // 6, 1)], test_y[:max(args.limit // 6, 1)]

    tg.manual_seed(args.seed)
    model = MODELS[args.model]()
    augment = [RandomShift(args.shift)] if args.shift else []
    loader = DataLoader(train_x, train_y, args.batch_size, shuffle=True, seed=args.seed,
                        transform=Compose([*augment, NORMALIZE]))
    opt, scheduler = make_optimizer(args, model, args.epochs * len(loader))
    parts = {"model": model, "optimizer": opt, "scheduler": scheduler, "loader": loader}
    history = {"epoch": [], "train_acc": [], "test_acc": [], "train_loss": [], "seconds": [],
               "step_loss": [], "step_acc": []}
    start_epoch, kernels, health, partial = 0, [], {}, {}
    if state is not None:
        saved_epochs = runs.saved_config(state)["epochs"]
        extended = args.epochs != saved_epochs
        start_epoch, history, kernels, health = run.restore(state, parts, extended)
        partial = run.partial(state)
        print(f"resumed {run.checkpoint} after epoch {start_epoch}" + (
            f" and {loader.batch} of the next epoch's {len(loader)} steps" if partial else "")
            + (f"; extended from {saved_epochs} to {args.epochs} epochs (the {args.schedule} "
               "schedule is rebuilt for the new total)" if extended else ""))
    config = {key: value for key, value in vars(args).items() if key not in ("run", "given")}
    config |= {"train_size": len(train_x), "test_size": len(test_x)}
    # --profile times every op of the first epoch; --report samples health every 10th step
    profiler = tg.Profiler(model, batch_size=args.batch_size) if args.profile else None
    monitor = tg.HealthMonitor(model) if args.report else None
    print(f"{args.model}: {sum(p.size for p in model.parameters()):,} parameters, "
          f"{len(train_x):,} training images, {args.epochs} epochs of {len(loader)} steps")
    warm_up_kernels()
    stopping = stack.enter_context(runs.interruptible())  # Ctrl-C: finish the step, checkpoint
    for epoch in range(start_epoch, args.epochs):
        loss_sum, correct, seen, before = (partial.get(key, 0) for key in
                                           ("loss_sum", "correct", "seen", "seconds"))
        partial, t0 = {}, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch",
                   leave=False, disable=args.quiet, mininterval=BAR_SECONDS)
        shown = t0
        profiling = profiler is not None and epoch == start_epoch
        for step, (x, y) in enumerate(bar):
            with profiler if profiling else nullcontext():
                loss, hits = train_step(model, opt, scheduler, x, y,
                                        monitor if monitor and step % 10 == 0 else None,
                                        args.label_smoothing)
            loss_sum, correct, seen = loss_sum + loss * len(y), correct + hits, seen + len(y)
            history["step_loss"].append(loss)
            history["step_acc"].append(hits / len(y))
            if not args.quiet and time.perf_counter() - shown >= BAR_SECONDS:
                shown = time.perf_counter()
                bar.set_postfix(loss=f"{loss:.3f}", acc=f"{correct / seen:.3f}",
                                img_s=f"{seen / (shown - t0):.0f}", refresh=False)
            if stopping() and loader.batch < len(loader):  # at the last step: end the epoch
                bar.close()
                seconds = before + time.perf_counter() - t0
                run.save(epoch, config, parts, history, kernels, health, {
                    "loss_sum": loss_sum, "correct": correct, "seen": seen, "seconds": seconds})
                raise interrupted(run, f"step {loader.batch} of {len(loader)} in epoch {epoch + 1}")
        seconds = before + time.perf_counter() - t0
        test_acc = evaluate(model, test_x, test_y)
        for key, value in (("epoch", epoch + 1), ("train_acc", correct / seen),
                           ("test_acc", test_acc), ("train_loss", loss_sum / seen),
                           ("seconds", seconds)):
            history[key].append(value)
        print(f"epoch {epoch + 1}: train acc {correct / seen:.4f}  test acc {test_acc:.4f}  "
              f"loss {loss_sum / seen:.4f}  {seconds:.1f}s")
        if profiling:
            print(profiler.table())
            profiler.to_json(run.out / "profile.json")
        if monitor:  # its table prints once, after the last epoch
            health[str(epoch + 1)] = monitor.summary(reset=True)
            kernels.append(next(m for m in model.modules() if isinstance(m, nn.Conv2d))
                           .weight.data.copy())
        run.save(epoch + 1, config, parts, history, kernels, health)
        if stopping() and epoch + 1 < args.epochs:
            raise interrupted(run, f"epoch {epoch + 1}")
    asked_to_stop = stopping()
    stack.close()  # Ctrl-C raises again from here on (the report can take a while)
    if asked_to_stop:
        raise runs.Interrupted(f"interrupted after the last epoch: the run in {run.out} is "
                               "complete; its report was not written")

    if start_epoch >= args.epochs:
        print(f"{run.out} has finished its {args.epochs} epochs; --epochs N extends it")
    final = history["test_acc"][-1] if history["test_acc"] else evaluate(model, test_x, test_y)
    print(f"test accuracy {final:.4f} ({100 * final:.2f}%) after {args.epochs} epochs, "
          f"{sum(history['seconds']):.1f}s of training; checkpoint {run.checkpoint}")
    if history["test_acc"]:  # training seconds, evaluation excluded, as torch_train.py prints
        reached = next((sum(history["seconds"][:i + 1]) for i, acc in
                        enumerate(history["test_acc"]) if acc >= args.target), None)
        print(f"time to {args.target:.2%} on the test set: " + (
            f"{reached:.1f}s of training" if reached is not None else "not reached"))
    run.write_json("history.json", history | {"config": config})
    if args.report:
        from tinygrad_cnn.run_report import write_run_report  # matplotlib only when reporting

        path = run.write_json("health.json", health)
        if health:  # the last epoch's, once: every epoch's table would bury the results
            last = max(health, key=int)
            print(f"health, epoch {last} (every epoch's: {path}):\n{format_health(health[last])}")
        table = profiler.table() if profiler is not None and profiler.steps else None
        names = FASHION_CLASSES if args.dataset == "fashion" else DIGITS
        path = write_run_report(run.out, config, model, history, kernels, health, table,
                                test_x, test_y, NORMALIZE, names)
        print(f"report: {path}")
    return history


# ----------------------------------------------------------------------------- eval and predict


def evaluate_command(args: argparse.Namespace) -> None:
    model, config = runs.load_trained(args.checkpoint, MODELS)
    images, labels = load_split(args, "test", config.get("dataset"))
    predictions = runs.predict_proba(model, images, NORMALIZE).argmax(axis=1)
    print(f"test accuracy {np.mean(predictions == labels):.4f} on {len(labels):,} images")
    names = FASHION_CLASSES if config.get("dataset") == "fashion" else DIGITS
    print(f"{'class':>11}  images  accuracy")
    for k, name in enumerate(names):
        mask = labels == k
        accuracy = f"{np.mean(predictions[mask] == k):.4f}" if mask.any() else "-"
        print(f"{name:>11}  {mask.sum():>6}  {accuracy:>8}")


def data_inputs(args: argparse.Namespace) -> dict[str, str | None]:
    """What a command reads besides its checkpoint: the data folders (no output goes in them)."""
    return {"checkpoint": args.checkpoint, "--data folder": args.data,
            "--test-dir folder": args.test_dir}


def predict_command(args: argparse.Namespace) -> None:
    runs.check_outputs({"--show-input": args.show_input},
                       data_inputs(args) | {f"image {path}": path for path in args.images},
                       args.overwrite)
    model, config = runs.load_trained(args.checkpoint, MODELS)
    fashion = config.get("dataset") == "fashion"
    if not args.images and not args.random_test:
        raise runs.RunError("give image files to predict, or --random-test")
    inputs = [(path, load_digit_image(path, digit=not fashion), None) for path in args.images]
    if args.random_test:
        images, labels = load_split(args, "test", config.get("dataset"))
        i = int(np.random.default_rng().integers(len(images)))
        inputs.append((f"test image #{i}", images[i], int(labels[i])))
    seen = np.stack([image for _, image, _ in inputs])
    if args.show_input:
        print(f"the model's input: {save_gray(seen, args.show_input)}")
    probs = runs.predict_proba(model, seen, NORMALIZE)
    classes = FASHION_CLASSES if fashion else DIGITS
    for (name, _, label), p in zip(inputs, probs):
        truth = f" (true label {classes[label]})" if label is not None else ""
        print(f"{name}: {classes[int(p.argmax())]} with probability {p.max():.3f}{truth}")
        print("    " + "  ".join(f"{d}:{q:.3f}" for d, q in enumerate(p)))


def export_command(args: argparse.Namespace) -> None:
    runs.check_outputs({"out": args.out, "--safetensors": args.safetensors},
                       {"checkpoint": args.checkpoint}, args.overwrite)
    model, _ = runs.load_trained(args.checkpoint, MODELS)
    try:
        tg.onnx.export(model, np.zeros((1, 1, 28, 28), np.float32), args.out)
        if args.safetensors:
            tg.save(model.state_dict(), args.safetensors)
    except ImportError as error:  # the optional onnx extra is not installed
        raise runs.RunError(str(error)) from None
    print(f"wrote {args.out}: input 'input' (N, 1, 28, 28) float32 pixels standardised as "
          f"{NORMALIZE!r}, output 'output' (N, 10) logits")
    if args.safetensors:
        print(f"wrote {args.safetensors}: the weights under PyTorch's state_dict names")


def explore_command(args: argparse.Namespace) -> None:
    """Serve the explorer for the checkpoint on this machine, or write it as one static page."""
    from tinygrad_cnn import explorer  # a tool: its page and server load only for this command

    runs.check_outputs({"--static": args.static}, data_inputs(args), args.overwrite)
    model, config = runs.load_trained(args.checkpoint, MODELS)
    saved = tg.load(args.checkpoint).get("kernels", {})  # first conv per epoch, with --report
    epoch_kernels = [saved[str(i)] for i in range(len(saved))]
    try:
        images, labels = load_split(args, "test", config.get("dataset"))
        images, labels = images[:args.images], labels[:args.images]
    except (DatasetError, DataFileError) as exc:
        if args.static:
            raise
        print(f"warning: no test images to pick from ({exc})", file=sys.stderr)
        images, labels = None, None
    if args.static:
        path = explorer.write_static(args.static, model, images, labels, epoch_kernels)
        print(f"explorer: {path} ({len(images)} test images)")
    else:
        try:
            explorer.serve(model, images, labels, epoch_kernels, args.host, args.port)
        except OSError as error:  # the port is taken, or the address is not this machine's
            raise runs.RunError(f"cannot serve on {args.host}:{args.port}: "
                                f"{error.strerror or error}; choose another --port (0: any "
                                "free one)") from None


# ----------------------------------------------------------------------------- main

# our own error types: a user's mistake, said in one line; anything else is a bug and shows its
# traceback
USER_ERRORS = (runs.RunError, DatasetError, DataFileError, tg.CheckpointError, WriteError)
INTERRUPTED = 130  # what a shell reports for a program stopped by Ctrl-C (128 + SIGINT)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        args.run(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except runs.Interrupted as exc:
        print(exc, file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:  # Ctrl-C outside training's steps (loading data, eval, a report)
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
