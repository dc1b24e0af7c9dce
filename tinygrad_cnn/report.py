"""The one-page HTML report of a training run: configuration, epochs, profile, graph, health, plots.

`write_report` writes `out_dir/report.html`, a static HTML5 page with inline CSS, no scripts, no
fonts or styles from elsewhere: it opens from disk with no server and no network.

Images are linked by their path relative to `out_dir` by default, so the page stays small and
sits next to the PNGs it shows (copy the whole folder to share it). With `self_contained=True`
every image is inlined as a base64 `data:` URI instead, and report.html alone is the whole report.
All text (configuration values, names, tables) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .fileio import make_folder, write_text

_MIME = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1150px; margin: 0 auto; padding: 1.5em 2em 4em; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 2px solid #e4e7ef; padding-bottom: 0.2em; }
nav { color: #666; font-size: 0.95em; }
nav a { color: #2557a7; text-decoration: none; margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #e4e7ef; text-align: right; }
th { background: #f3f5fa; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafbfd; }
table.config td:last-child { text-align: left;
                              font-family: ui-monospace, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #e4e7ef; border-radius: 4px; padding: 0.8em 1em;
      overflow-x: auto; font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5em 2em; align-items: flex-start; }
figure { margin: 0.8em 0 1em; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e7ef; }
figcaption { color: #555; margin-top: 0.3em; }
.graph { overflow: auto; max-height: 900px; border: 1px solid #e4e7ef; padding: 0.5em; }
.graph img { max-width: 100%; height: auto; border: none; }
.note { color: #666; font-size: 0.95em; }
iframe.explorer { width: 100%; height: 900px; min-width: 900px; border: 1px solid #e4e7ef; }
.explorer-box { overflow-x: auto; }
"""


def write_report(
    out_dir: str | Path,
    config: Mapping[str, Any],
    epochs: Sequence[Mapping[str, Any]],
    profile_table: str | None = None,
    graph_svg: str | Path | None = None,
    images: Sequence[tuple[str, str | Path]] = (),
    health: Mapping[str, Mapping[str, Any]] | None = None,
    title: str = "tinygrad_cnn training run",
    self_contained: bool = False,
    explorer: str | Path | None = None,
) -> Path:
    """Write `out_dir/report.html` and return its path.

    config: the run's settings, shown as a two-column table (values via `str`).
    epochs: one dict per epoch, e.g. {"epoch": 1, "train_loss": .., "train_acc": .., "test_acc":
        .., "seconds": ..}; columns are the keys in first-seen order. Keys ending in `acc` or
        `accuracy` are fractions in [0, 1] and are shown as percentages.
    profile_table: the profiler's text table (`Profiler.table()`), shown pre-formatted.
    graph_svg: the rendered graph (SVG, or PNG), or the `.dot` source that `viz.render_graph`
        writes when Graphviz is missing (then the DOT text is shown with a note to install it).
    images: (title, path) per plot, in page order; a PNG, GIF or SVG file.
    health: per-layer training-health numbers, {layer: {metric: value}}, shown as one table.
    explorer: the static explorer page (`explorer.write_static`), embedded in an iframe (its
        scripts run there; report.html itself stays script-free).
    Paths are relative to `out_dir`, or to the working folder when they lead into `out_dir`
    (what `out_dir / name` gives for a relative `out_dir`); absolute paths are made relative. A
    missing file raises FileNotFoundError, so a report never shows a broken image.
    """
    out_dir = Path(out_dir)
    make_folder(out_dir)
    sections: list[tuple[str, str, str]] = [
        ("config", "Configuration", _config_table(config)),
        ("epochs", "Accuracy per epoch", _records_table(epochs)),
    ]
    if profile_table:
        sections.append(("profile", "Profile", f"<pre>{_esc(profile_table)}</pre>"))
    if graph_svg is not None:
        sections.append(("graph", "Computation graph", _graph(out_dir, graph_svg, self_contained)))
    if health:
        rows = [{"layer": layer, **metrics} for layer, metrics in health.items()]
        sections.append(("health", "Training health", _records_table(rows)))
    if images:
        figures = "\n".join(_figure(out_dir, title, path, self_contained) for title, path in images)
        sections.append(("plots", "Plots", f'<div class="plots">\n{figures}\n</div>'))
    if explorer is not None:
        sections.append(("explorer", "Explorer", _explorer(out_dir, explorer, self_contained)))
    nav = " ".join(f'<a href="#{key}">{_esc(name)}</a>' for key, name, _ in sections)
    body = "\n".join(
        f'<section id="{key}">\n<h2>{_esc(name)}</h2>\n{content}\n</section>'
        for key, name, content in sections
    )
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n<nav>{nav}</nav>\n{body}\n</body>\n</html>\n"
    )
    path = out_dir / "report.html"
    write_text(path, page)
    return path


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _format(key: str, value: Any) -> str:
    # numbers.Real also covers NumPy scalars (np.float32 is not a Python float)
    if isinstance(value, numbers.Integral) or not isinstance(value, numbers.Real):
        return str(value)
    if key.lower().endswith(("acc", "accuracy")):
        return f"{100 * float(value):.2f}%"
    return f"{float(value):.4g}"


def _config_table(config: Mapping[str, Any]) -> str:
    if not config:
        return '<p class="note">No configuration recorded.</p>'
    rows = "\n".join(
        f"<tr><td>{_esc(key)}</td><td>{_esc(value)}</td></tr>" for key, value in config.items()
    )
    return f'<table class="config">\n<tbody>\n{rows}\n</tbody>\n</table>'


def _records_table(records: Sequence[Mapping[str, Any]]) -> str:
    if not records:
        return '<p class="note">Nothing recorded.</p>'
    columns = list(dict.fromkeys(key for record in records for key in record))
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{_esc(_format(c, r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in records
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"


def _locate(out_dir: Path, path: str | Path) -> tuple[Path, str]:
    """The file on disk and its URL relative to out_dir (percent-encoded, forward slashes)."""
    path = Path(path)
    full = path if path.is_absolute() else out_dir / path
    if not full.is_file() and _inside(path, out_dir):
        full = path  # out_dir / "a.png" with a relative out_dir: already joined once
    if not full.is_file():
        raise FileNotFoundError(f"report image not found: {full}")
    relative = Path(os.path.relpath(full, out_dir)).as_posix()
    return full, quote(relative)


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` (relative to the working folder) lies inside `folder`."""
    return path.is_file() and path.resolve().is_relative_to(folder.resolve())


def _src(out_dir: Path, path: str | Path, self_contained: bool) -> str:
    full, url = _locate(out_dir, path)
    if not self_contained:
        return url
    mime = _MIME.get(full.suffix.lower())
    if mime is None:
        raise ValueError(f"cannot inline {full.name}: expected one of {', '.join(_MIME)}")
    return f"data:{mime};base64,{base64.b64encode(full.read_bytes()).decode('ascii')}"


def _figure(out_dir: Path, caption: str, path: str | Path, self_contained: bool) -> str:
    src = _src(out_dir, path, self_contained)
    return (
        f'<figure>\n<img src="{_esc(src)}" alt="{_esc(caption)}">\n'
        f"<figcaption>{_esc(caption)}</figcaption>\n</figure>"
    )


def _graph(out_dir: Path, graph: str | Path, self_contained: bool) -> str:
    if Path(graph).suffix.lower() in (".dot", ".gv"):
        full, _ = _locate(out_dir, graph)
        note = (
            "Graphviz's <code>dot</code> program was not found when this report was written, "
            "so here is the graph's DOT source. Install Graphviz "
            "(<code>apt-get install graphviz</code>, <code>brew install graphviz</code>) "
            "and paste it into <code>dot -Tsvg</code>."
        )
        source = full.read_text(encoding="utf-8")
        return f'<p class="note">{note}</p>\n<pre>{_esc(source)}</pre>'
    src = _src(out_dir, graph, self_contained)
    image = f'<img src="{_esc(src)}" alt="computation graph">'
    if self_contained:  # browsers refuse to open data: URIs as pages, so no full-size link
        return f'<div class="graph">{image}</div>'
    return f'<div class="graph"><a href="{_esc(src)}">{image}</a></div>\n' + (
        '<p class="note">Click the graph to open it at full size.</p>'
    )


def _explorer(out_dir: Path, page: str | Path, self_contained: bool) -> str:
    full, url = _locate(out_dir, page)
    source = (f'srcdoc="{_esc(full.read_text(encoding="utf-8"))}"' if self_contained
              else f'src="{_esc(url)}"')
    # the frame grows to the page it holds where the browser lets it read the height (srcdoc
    # and same-origin files); elsewhere it keeps 900px and scrolls, and the link opens it whole
    grow = "try{this.style.height=this.contentDocument.documentElement.scrollHeight+'px'}catch(e){}"
    link = "" if self_contained else (f' <a href="{_esc(url)}">Open the explorer on its own '
                                      "page.</a>")
    return (f'<div class="explorer-box"><iframe {source} title="explorer" class="explorer" '
            f'onload="{grow}"></iframe></div>\n'
            '<p class="note">Layer by layer, forward and backward, for a few test images '
            "(<code>models/mnist.py explore CHECKPOINT</code> serves it to draw your own)."
            f"{link}</p>")
