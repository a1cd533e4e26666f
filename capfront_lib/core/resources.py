"""Where the project's shipped files live: ``data/``, ``notebooks/`` and the profiles.

In a checkout (editable install) they sit beside the package at the top of the repository. In a
plain ``pip install`` (wheel or sdist) the build copies them into the package as
``capfront_lib/_resources/{data,notebooks}`` so that the CLI works from any folder. Every reader of
shipped files goes through :func:`project_root` / :func:`data_path`; no module builds
``Path(__file__).parents[...]`` paths of its own.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

ROOT_ENV = "CAPFRONT_ROOT"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


class ResourceError(RuntimeError):
    """The shipped data/notebooks cannot be found."""


def _is_root(path: Path) -> bool:
    return (path / "notebooks").is_dir() and (path / "data").is_dir()


@lru_cache(maxsize=None)
def _default_root() -> Path:
    checkout = _PACKAGE_DIR.parent
    if _is_root(checkout):
        return checkout
    installed = _PACKAGE_DIR / "_resources"
    if _is_root(installed):
        return installed
    raise ResourceError(
        f"capfront cannot find its notebooks/ and data/ (looked in {checkout} and {installed}); "
        f"reinstall the package or set {ROOT_ENV} to a capfront checkout"
    )


def project_root() -> Path:
    """Folder holding ``notebooks/`` and ``data/``: ``CAPFRONT_ROOT`` if set, else the checkout or the installed copy."""
    env = os.environ.get(ROOT_ENV, "")
    if env:
        root = Path(env).expanduser()
        if not _is_root(root):
            raise ResourceError(f"{ROOT_ENV}={env} has no notebooks/ and data/ folders")
        return root.resolve()
    return _default_root()


def data_path(*parts: str) -> Path:
    """Path of a shipped data file, e.g. ``data_path("oracle_debiasing", "table1.csv")``."""
    return project_root().joinpath("data", *parts)


def is_checkout() -> bool:
    """True when running from a source checkout (files editable in place) rather than an installed copy."""
    return project_root() == _PACKAGE_DIR.parent
