"""The first-start demo build shows all at once: never a partial demo, not even after a build killed halfway."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

from saleslens import demo
from saleslens.core import store

AS_OF = date(2026, 6, 30)
WEEKS = len(demo.snapshot_days("S", AS_OF))  # 104 weekly snapshots, oldest first


def test_readers_see_no_snapshot_until_the_whole_demo_is_in(tmp_path: Path) -> None:
    seen: list[int] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(len(store.list_snapshots(tmp_path)))  # what a page opened at this moment would list

    snaps = demo.build(tmp_path, "S", 7, AS_OF, progress=progress)
    # every progress call but the last ("Demo ready", after the move) saw an empty store
    assert seen[:-1] and set(seen[:-1]) == {0}
    assert seen[-1] == WEEKS == len(snaps) == len(store.list_snapshots(tmp_path))
    assert not any((tmp_path / store.TMP).iterdir())  # the staging folder is gone


def test_a_killed_build_leaves_a_staging_folder_the_next_build_removes(tmp_path: Path) -> None:
    # A real kill (SIGKILL): no finally clause runs, so only the staging folder's place decides what readers see.
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import date
        from pathlib import Path
        from saleslens import demo
        def progress(fraction, message):
            if message.startswith("Publishing snapshot 13 of"):
                os.kill(os.getpid(), signal.SIGKILL)
        if __name__ == "__main__":
            demo.build(Path({str(tmp_path)!r}), "S", 7, date(2026, 6, 30), progress=progress)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[3], timeout=300)
    assert result.returncode == -9
    assert store.list_snapshots(tmp_path) == []
    assert any((tmp_path / store.TMP).iterdir())  # the killed build's work, out of every reader's sight
    snaps = demo.build(tmp_path, "S", 7, AS_OF)
    assert len(snaps) == WEEKS
    assert not any((tmp_path / store.TMP).iterdir())
