"""Package discovery for the root-as-package layout (pyproject.toml holds everything else).

The repository root *is* the ``tracelock`` package: every folder below it that has an ``__init__.py``
becomes ``tracelock.<dotted.path>``. Listing them here by walking the tree keeps a new component from
being forgotten in a hand-kept list. Folders under ``deploy/`` are data (SQL, configs, manifests) and
are listed as data-only packages so setuptools ships them without guessing.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
NOT_PACKAGES = {"tests", "bench", "docs", "build", "dist", "venv", ".venv", "tracelock-data", ".git"}


def find_packages() -> list[str]:
    packages = ["tracelock"]
    for init in sorted(ROOT.rglob("__init__.py")):
        rel = init.parent.relative_to(ROOT)
        if rel.parts and rel.parts[0] not in NOT_PACKAGES and not rel.parts[0].startswith("."):
            packages.append("tracelock." + ".".join(rel.parts))
    deploy = ROOT / "deploy"
    data_dirs = [deploy, *(p for p in sorted(deploy.rglob("*")) if p.is_dir() and p.name != "__pycache__")]
    packages += ["tracelock." + ".".join(p.relative_to(ROOT).parts) for p in data_dirs]
    return packages


class BuildPy(build_py):
    """The root is the package, so this file sits in it; keep it out of the wheel."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "tracelock" and m[1] == "setup")]


setup(packages=find_packages(), package_dir={"tracelock": "."}, cmdclass={"build_py": BuildPy})
