"""The Python client's type hints are complete and consistent: mypy --strict (Debian's mypy)
on clients/python/lacquer_client finds nothing, and the package is marked typed (py.typed),
so a Django project's own mypy run checks its calls against them."""
import os
import shutil
import subprocess

from conftest import ROOT

PKG = os.path.join(ROOT, "clients", "python", "lacquer_client")


def test_client_passes_mypy_strict():
    assert os.path.exists(os.path.join(PKG, "py.typed"))
    mypy = shutil.which("mypy") or "/usr/bin/mypy"
    assert os.path.exists(mypy), "mypy is needed (scripts/deps.sh --test)"
    p = subprocess.run([mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull,
                        "lacquer_client"], cwd=os.path.dirname(PKG), capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Success: no issues found" in p.stdout, p.stdout
