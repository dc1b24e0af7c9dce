"""The profiler: forward and backward time, calls and FLOPs per op and per module.

    prof = Profiler(model, batch_size=64)
    for x, y in batches:
        with prof:                      # one training step; data loading stays outside
            loss = loss_fn(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
    print(prof.table())
    prof.to_json("profile.json")

One `with` block may hold many steps too (`with prof: for x, y in batches: ...`).

While active it observes every op (`autograd.observe`): the engine times each op's forward and
backward, and the profiler adds them up by op name (with the conv algorithm, e.g.
'Conv2d[im2col]') and by module (`ctx.module`, named by `model.named_modules()` when a model is
given). The wall time between entering and leaving the `with` block is recorded too; what the ops
do not account for (Python between ops, gradient accumulation in the engine, the optimizer step)
is its own 'untracked' row, so the rows add up to the measured wall time.

Steps are counted by what happened, as PyTorch's profiler schedule counts them: `prof.step()`
calls when there are any (PyTorch's habit), else the backward passes seen while active (one per
training step), else the `with` blocks (forward-only profiling). Images for the per-image
columns: `count_images(n)` calls, else `batch_size` times the steps.

FLOPs (floating point operations, a multiply-add counts 2) come from the op itself:
`ctx.flops(out)` for the forward (None where the op does not know) and
`ctx.backward_flops(forward_flops, input_grads)` for the backward, estimated as the forward once per
input that gets a gradient (a bias gradient, a cheap sum, is not counted by linear and conv).

Saved bytes: what each recorded op keeps for backward (`nn.saved_bytes.saved_bytes`: its saved
arrays, views counted once), per step. A buffer kept by two ops (ReLU's output, which the
max-pool after it keeps too) is in both rows, so the column has no total here;
`saved_memory.backward_memory(loss)` gives the total and the peak during backward.
"""

from __future__ import annotations

import json
import weakref
from contextlib import ExitStack
from pathlib import Path
from time import perf_counter
from typing import Any

from . import autograd
from .fileio import write_text
from .naming import ModuleNames
from .nn.saved_bytes import saved_bytes

UNTRACKED = "(untracked: Python, optimizer)"
NO_MODULE = "(outside modules)"


class _Stat:
    """Running totals for one (op, module) pair."""

    __slots__ = ("calls", "forward_s", "backward_calls", "backward_s", "forward_flops",
                 "backward_flops", "flops_known", "saved_bytes")

    def __init__(self) -> None:
        self.calls = self.backward_calls = 0
        self.forward_s = self.backward_s = 0.0
        self.forward_flops = self.backward_flops = 0
        self.flops_known = True
        self.saved_bytes = 0  # kept for backward by the recorded calls


class Profiler:
    """Context manager that times every op's forward and backward (see the module docstring).

    model: names modules by their dotted path (else by class name).
    batch_size: images per step, for the per-image columns (or call `count_images`).
    """

    def __init__(self, model: Any = None, batch_size: int | None = None) -> None:
        self.names = ModuleNames(model)
        self.batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        """Forget everything measured so far."""
        self._stats: dict[tuple[str, int], _Stat] = {}
        self._modules: dict[int, Any] = {}  # keeps modules alive so their ids stay unique
        # forward FLOPs of each recorded op, for its backward; weak, so it dies with the graph
        self._forward_flops: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self.wall_s = 0.0
        self._blocks = self._passes = self._marked = 0  # `with` blocks, backwards, step() calls
        self._images = 0
        self._stack: ExitStack | None = None

    def __enter__(self) -> Profiler:
        if self._stack is not None:
            raise RuntimeError("Profiler is already active; it cannot be nested in itself")
        self._stack = ExitStack()
        self._stack.enter_context(autograd.observe(self))
        self._start = perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s += perf_counter() - self._start
        self._blocks += 1
        assert self._stack is not None
        self._stack.close()
        self._stack = None

    def step(self) -> None:
        """Mark the end of one training step (PyTorch's `prof.step()`); once called, the steps
        are these marks."""
        self._marked += 1

    @property
    def steps(self) -> int:
        """prof.step() calls if any, else backward passes seen, else `with` blocks."""
        return self._marked or self._passes or self._blocks

    def count_images(self, n: int) -> None:
        """Add `n` images to the count the per-image columns divide by."""
        self._images += int(n)

    @property
    def images(self) -> int:
        if self._images:
            return self._images
        return (self.batch_size or 0) * self.steps

    # ----- observer (called by the engine for every op; kept short) -------------------------
    def _stat(self, ctx: Any) -> _Stat:
        module = ctx.module
        key = (ctx.name, id(module))
        stat = self._stats.get(key)
        if stat is None:
            stat = self._stats[key] = _Stat()
            self._modules[id(module)] = module
        return stat

    def on_forward(self, ctx: Any, out: Any, seconds: float) -> None:
        stat = self._stat(ctx)
        stat.calls += 1
        stat.forward_s += seconds
        if out._ctx is ctx:
            stat.saved_bytes += saved_bytes(ctx)
        flops = ctx.flops(out.data)
        if flops is None:
            stat.flops_known = False
            return
        stat.forward_flops += flops
        if out._ctx is ctx:  # recorded: its backward may come
            self._forward_flops[ctx] = flops

    def on_backward_pass(self, root: Any) -> None:
        self._passes += 1

    def on_backward(self, ctx: Any, input_grads: Any, seconds: float) -> None:
        stat = self._stat(ctx)
        stat.backward_calls += 1
        stat.backward_s += seconds
        flops = self._forward_flops.get(ctx)  # None where this profiler missed the forward
        if flops:
            grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
            stat.backward_flops += ctx.backward_flops(flops, grads)

    # ----- reports ---------------------------------------------------------------------------
    def rows(self, by: str = "module") -> list[dict[str, Any]]:
        """One dict per op (`by="op"`) or per module (`by="module"`), slowest first, then the
        untracked row. Keys: name, calls, forward_ms, backward_ms, total_ms,
        forward_ms_per_image, backward_ms_per_image, ms_per_image, share (of the wall time),
        forward_flops, backward_flops (None where unknown), saved_bytes (kept for backward, per
        step)."""
        if by not in ("op", "module"):
            raise ValueError(f"rows: by must be 'op' or 'module', got {by!r}")
        groups: dict[str, list[_Stat]] = {}
        for (op, module_id), stat in self._stats.items():
            module = self._modules[module_id]
            name = op if by == "op" else NO_MODULE if module is None else self.names.title(module)
            groups.setdefault(name, []).append(stat)
        rows = [self._row(name, stats) for name, stats in groups.items()]
        rows.sort(key=lambda r: -r["total_ms"])  # slowest first
        rows.append(self._untracked_row())
        return rows

    def _row(self, name: str, stats: list[_Stat]) -> dict[str, Any]:
        forward_s = sum(s.forward_s for s in stats)
        backward_s = sum(s.backward_s for s in stats)
        known = all(s.flops_known for s in stats)
        return self._timing_row(name, sum(s.calls for s in stats), forward_s, backward_s) | {
            "backward_calls": sum(s.backward_calls for s in stats),
            "forward_flops": sum(s.forward_flops for s in stats) if known else None,
            "backward_flops": sum(s.backward_flops for s in stats) if known else None,
            "saved_bytes": round(sum(s.saved_bytes for s in stats) / max(self.steps, 1)),
        }

    def _timing_row(self, name: str, calls: int, forward_s: float,
                    backward_s: float) -> dict[str, Any]:
        images = self.images

        def per_image(seconds: float) -> float | None:
            return 1e3 * seconds / images if images else None

        return {
            "name": name, "calls": calls,
            "forward_ms": 1e3 * forward_s, "backward_ms": 1e3 * backward_s,
            "total_ms": 1e3 * (forward_s + backward_s),
            "forward_ms_per_image": per_image(forward_s),
            "backward_ms_per_image": per_image(backward_s),
            "ms_per_image": per_image(forward_s + backward_s),
            "share": (forward_s + backward_s) / self.wall_s if self.wall_s else 0.0,
        }

    @property
    def tracked_s(self) -> float:
        """Seconds spent inside op forwards and backwards."""
        return sum(s.forward_s + s.backward_s for s in self._stats.values())

    def _untracked_row(self) -> dict[str, Any]:
        untracked_s = self.wall_s - self.tracked_s
        row = self._timing_row(UNTRACKED, self.steps, 0.0, 0.0)
        images = self.images
        return row | {
            "forward_ms": None, "backward_ms": None, "total_ms": 1e3 * untracked_s,
            "forward_ms_per_image": None, "backward_ms_per_image": None,
            "ms_per_image": 1e3 * untracked_s / images if images else None,
            "share": untracked_s / self.wall_s if self.wall_s else 0.0,
            "backward_calls": 0, "forward_flops": None, "backward_flops": None,
            "saved_bytes": None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values: wall/tracked/untracked ms, steps, images, and
        the rows by module and by op."""
        return {
            "wall_ms": 1e3 * self.wall_s, "tracked_ms": 1e3 * self.tracked_s,
            "untracked_ms": 1e3 * (self.wall_s - self.tracked_s),
            "steps": self.steps, "images": self.images,
            "modules": self.rows("module"), "ops": self.rows("op"),
        }

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(self.to_dict(), indent=2))  # atomic
        return path

    def table(self, by: str = "both") -> str:
        """The runtime table: one section per module ("layer") and one per op, each row with
        calls, forward ms, backward ms, ms per image (forward / backward), share, GFLOP, MB
        saved for backward per step."""
        images = self.images
        head = (f"profile: {1e3 * self.wall_s:.1f} ms wall over {self.steps} step(s)"
                + (f", {images} images" if images else "")
                + f"; ops {1e3 * self.tracked_s:.1f} ms, "
                f"untracked {1e3 * (self.wall_s - self.tracked_s):.1f} ms")
        sections = [head]
        for kind, title in (("module", "layer"), ("op", "op")):
            if by in (kind, "both"):
                sections.append(_format_rows(self.rows(kind), title, self.wall_s))
        return "\n\n".join(sections)

    def __str__(self) -> str:
        return self.table()


def _format_rows(rows: list[dict[str, Any]], title: str, wall_s: float) -> str:
    width = max([len(title), 5] + [len(r["name"]) for r in rows])
    header = (f"{title:<{width}}  {'calls':>6}  {'fwd ms':>9}  {'bwd ms':>9}  {'total ms':>9}  "
              f"{'fwd ms/img':>10}  {'bwd ms/img':>10}  {'share':>6}  {'GFLOP':>8}  "
              f"{'saved MB':>9}")
    rule = "-" * len(header)
    lines = [header, rule]
    for r in rows + [_total_row(rows, wall_s)]:
        if r["name"] == "total":
            lines.append(rule)
        lines.append(
            f"{r['name']:<{width}}  {r['calls']:>6}  {_num(r['forward_ms'], 9, 2)}  "
            f"{_num(r['backward_ms'], 9, 2)}  {_num(r['total_ms'], 9, 2)}  "
            f"{_num(r['forward_ms_per_image'], 10, 4)}  {_num(r['backward_ms_per_image'], 10, 4)}"
            f"  {100 * r['share']:>5.1f}%  {_gflop(r)}  {_num(_mb(r['saved_bytes']), 9, 3)}"
        )
    return "\n".join(lines)


def _total_row(rows: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    def total(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return sum(values) if values else None

    return {"name": "total", "calls": "", "forward_ms": total("forward_ms"),
            "backward_ms": total("backward_ms"), "total_ms": 1e3 * wall_s,
            "forward_ms_per_image": total("forward_ms_per_image"),
            "backward_ms_per_image": total("backward_ms_per_image"),
            "share": sum(r["share"] for r in rows), "forward_flops": None, "backward_flops": None,
            "saved_bytes": None}  # no sum: a buffer kept by two rows would count twice


def _num(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _mb(nbytes: int | None) -> float | None:
    return None if nbytes is None else nbytes / 1e6


def _gflop(row: dict[str, Any]) -> str:
    if row["forward_flops"] is None:
        return f"{'-':>8}"
    return f"{(row['forward_flops'] + row['backward_flops']) / 1e9:>8.3f}"

