"""Build hook: a wheel carries the shipped data/ and notebooks/ inside the package.

``capfront_lib/core/resources.py`` finds them beside the package in a checkout (editable install) and in
``capfront_lib/_resources/`` in an installed wheel, so ``capfront list/run/certificate`` work from any folder.
All other metadata is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("data", "notebooks")


class BuildPyWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "capfront_lib" / "_resources"
        for name in RESOURCES:
            src = root / name
            if not src.is_dir():
                raise SystemExit(f"capfront build: {src} is missing; build from a full checkout or sdist")
            shutil.copytree(src, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))


setup(cmdclass={"build_py": BuildPyWithResources})
