"""Package discovery for the root-as-package layout (pyproject.toml holds everything else).

The repository root *is* the ``tracelock`` package: every folder below it that has an ``__init__.py``
becomes ``tracelock.<dotted.path>``. Listing them here by walking the tree keeps a new component from
being forgotten in a hand-kept list.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
NOT_PACKAGES = {"tests", "bench", "docs", "build", "dist", "venv", ".venv", "tracelock-data", ".git"}


def find_packages() -> list[str]:
    packages = ["tracelock"]
    for init in sorted(ROOT.rglob("__init__.py")):
        rel = init.parent.relative_to(ROOT)
        if rel.parts and rel.parts[0] not in NOT_PACKAGES and not rel.parts[0].startswith("."):
            packages.append("tracelock." + ".".join(rel.parts))
    return packages


setup(packages=find_packages(), package_dir={"tracelock": "."})
