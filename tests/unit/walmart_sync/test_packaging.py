"""The sidecar's wheel holds the sidecar only; the dev stack is its own distribution.

Built with ``pip wheel . --no-deps`` as a user would, installed into a fresh virtualenv (its
dependencies from the package index, as in production), and driven through the console script.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

DEV_ONLY = ("devstack/", "walmart_emulator", "commerce_emulator", "chaos", "seed", "demo")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # from a copy of the tree as a clone has it: setuptools reuses a build/ directory, stale files included
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(REPO_ROOT, source, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".stack"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
                   check=True, capture_output=True, timeout=600)
    (built,) = out.glob("walmart_sync-*.whl")
    return built


def test_the_wheel_holds_no_dev_stack_module_and_no_spec_json(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("sync_workers/push/") for n in names)
    assert any(n.startswith("walmart_sync/cli/") for n in names)
    offending = [n for n in names if any(part in n for part in DEV_ONLY) or n.endswith(".json")]
    assert offending == []
    assert wheel.stat().st_size < 400_000


def test_a_plain_install_runs_and_names_the_dev_stack_install_for_demo(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    cli = str(env_dir / "bin" / "walmart-sync")
    clean_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env={**clean_env, **env})

    assert run("--help").returncode == 0
    listen = run("listen", "--help")
    assert listen.returncode == 0 and "--from" in listen.stdout
    config = tmp_path / "walmart-sync.toml"
    config.write_text((REPO_ROOT / "walmart-sync.example.toml").read_text())
    check = run("--config", str(config), "config", "check")
    assert check.returncode == 0, check.stderr
    assert "change-me" not in check.stdout
    demo = run("demo")
    assert demo.returncode == 2
    lines = demo.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e ./devstack" in lines[0] and "Traceback" not in demo.stderr
    emulator = run("emulator", "walmart")
    assert emulator.returncode == 2 and "dev stack" in emulator.stderr
