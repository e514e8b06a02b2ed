"""chDB loads without pyarrow in the processes tracelock owns (store/chdb_loading.py), and only there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.collector_support import CollectorProcess, write_config


def _probe(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=99)
    return out.stdout


def test_a_cli_command_that_opens_chdb_loads_neither_pyarrow_nor_numpy(tmp_path: Path) -> None:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('pyarrow' in sys.modules, 'numpy' in sys.modules))\n"
        "from tracelock.cli.main import main\n"
        f"main(['--data-dir', {str(tmp_path / 'data')!r}, 'query', 'SELECT 41 + 1 AS answer',"
        " '--format', 'json'])\n"
    )
    out = _probe(code)
    assert '"answer": 42' in out, out
    assert out.split()[-2:] == ["False", "False"], out


def test_the_running_collector_has_no_arrow_library_mapped(tmp_path: Path) -> None:
    collector = CollectorProcess(tmp_path, write_config(tmp_path / "collector.yaml"))
    collector.start()
    try:
        assert collector.proc is not None
        maps = Path(f"/proc/{collector.proc.pid}/maps").read_text()
        assert "chdb" in maps  # the store is open
        assert "libarrow" not in maps and "numpy" not in maps
    finally:
        collector.close()


def test_in_a_users_own_process_chdbs_arrow_results_keep_working(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from tracelock.store.chdb_store import ChdbStore\n"
        f"store = ChdbStore({str(tmp_path / 'data')!r})\n"
        "import chdb.state.sqlitelike as chdb_state\n"
        "print(chdb_state.pa is not None)\n"
    )
    assert _probe(code).split() == ["True"]


def test_after_opting_in_pyarrow_is_still_importable_and_chdb_still_answers(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from tracelock.store.chdb_loading import load_chdb_without_pyarrow\n"
        "from tracelock.store.chdb_store import ChdbStore\n"
        "load_chdb_without_pyarrow()\n"
        f"store = ChdbStore({str(tmp_path / 'data')!r})\n"
        "print('pyarrow' in sys.modules, store.query('SELECT 6 * 7 AS n').scalar())\n"
        "import pyarrow\n"
        "print(pyarrow.__name__)\n"
    )
    assert _probe(code).split() == ["False", "42", "pyarrow"]
