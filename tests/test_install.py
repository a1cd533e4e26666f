"""A plain (non-editable) install works from any folder (issue 15 item 5).

Builds the wheel, installs it with ``--no-deps`` into a fresh virtual environment whose dependencies come
from the test environment (a ``.pth`` line pointing at its site-packages, so nothing is downloaded; the
editable capfront of the test environment is not visible there), then runs ``capfront list`` and
``capfront certificate`` from a temporary folder outside the checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, text=True)
    wheel = next(wheels.glob("capfront-*.whl"))
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--quiet", str(wheel)],
                   check=True, capture_output=True, text=True)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "_capfront_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def _run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(env_dir / "bin" / "capfront"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    out = subprocess.run([str(installed / "bin" / "python"), "-c",
                          "import capfront_lib, capfront_lib.core.resources as r; print(capfront_lib.__file__); print(r.project_root())"],
                         cwd=tmp_path, capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    pkg, root = out.stdout.split()
    assert Path(pkg).is_relative_to(installed) and not Path(pkg).is_relative_to(ROOT)
    assert Path(root).is_relative_to(installed) and (Path(root) / "data" / "profiles").is_dir()


def test_capfront_list_from_any_folder(installed, tmp_path):
    out = _run(installed, "list", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for stem in ("oracle_debiasing", "co_failure_ceiling", "repliclust"):
        assert f"{stem}:" in out.stdout


def test_capfront_certificate_from_any_folder(installed, tmp_path):
    log = tmp_path / "log.csv"
    rows = ["id,a,b,c"] + [f"q{i},{int(i % 3 != 0)},{int(i % 4 != 0)},{int(i % 5 == 0)}" for i in range(60)]
    log.write_text("\n".join(rows) + "\n")
    out = _run(installed, "certificate", "log.csv", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    # independent: all wrong when i % 3 == 0 and i % 4 == 0 and i % 5 != 0 -> i in {0,...} multiples of 12 not of 5
    K = sum(1 for i in range(60) if i % 3 == 0 and i % 4 == 0 and i % 5 != 0)
    assert d["n_all_wrong"] == K and d["n_queries"] == 60 and d["single_best"] == "b"
