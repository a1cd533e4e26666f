"""Environment helpers: where the public data lives, batch vs live runs, quiet progress bars."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")

DATA_ENV = "CAPFRONT_DATA_DIR"
BATCH_ENV = "CAPFRONT_BATCH"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Directory of the public outcome matrices (``CAPFRONT_DATA_DIR``), or ``None`` when absent.

    An explicit path wins over the environment variable. A path that is given but does not exist
    raises ``FileNotFoundError`` naming it, rather than being ignored.
    """
    raw = str(explicit) if explicit not in (None, "") else os.environ.get(DATA_ENV, "")
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        source = "argument" if explicit not in (None, "") else f"environment variable {DATA_ENV}"
        raise FileNotFoundError(f"public data directory {path} (from the {source}) does not exist")
    return path


def data_source(outcomes_path: str | os.PathLike[str] | None) -> str:
    """How to label a run's data: ``"simulated"`` (no log), ``"public data"`` (a file under
    ``CAPFRONT_DATA_DIR``) or ``"your log"`` (any other file). Use it in titles, captions and results.json.
    """
    if outcomes_path in (None, ""):
        return "simulated"
    root = data_dir()
    if root is not None:
        try:
            Path(outcomes_path).expanduser().resolve().relative_to(root.resolve())
            return "public data"
        except ValueError:
            pass
    return "your log"


def data_label(outcomes_path: str | os.PathLike[str] | None) -> str:
    """A reader-facing label of the run's data, with no absolute path.

    ``"simulated"``, ``"public data (MMLU-Pro/mmlu_pro_outcomes.csv)"`` (path relative to
    ``CAPFRONT_DATA_DIR``) or ``"your log (my_log.csv)"`` (file name only).
    """
    source = data_source(outcomes_path)
    if source == "simulated":
        return source
    p = Path(outcomes_path).expanduser()  # type: ignore[arg-type]
    if source == "public data":
        rel = p.resolve().relative_to(data_dir().resolve())  # type: ignore[union-attr]
        return f"public data ({rel.as_posix()})"
    return f"your log ({p.name})"


def in_batch() -> bool:
    """True when running non-interactively (papermill via ``capfront run``, CI)."""
    return os.environ.get(BATCH_ENV, "") == "1" or os.environ.get("CI", "") == "true"


def progress(iterable: Iterable[T], **kwargs: Any) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm progress bar in live sessions; silent in batch runs."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", in_batch())
    return tqdm(iterable, **kwargs)


def show_interactive(panel_factory: Callable[[], Any]) -> Any | None:
    """Display an ipywidgets panel when a reader runs the notebook live; do nothing in batch runs.

    The book shows a static equivalent drawn in the following cell, so nothing is lost when widgets
    cannot run. Returns the panel (or ``None`` in batch mode).
    """
    if in_batch():
        return None
    from IPython.display import display

    panel = panel_factory()
    display(panel)
    return panel
