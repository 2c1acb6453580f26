"""Profile the server's script runs: `SALESLENS_PROFILE=/tmp/x.prof streamlit run serve.py` (serve.py calls install()).

Every script run (a rerun of a page) is run under cProfile; the runs' statistics are added up and written to the
file after each run, with the number of runs, their total seconds and the number of objects the garbage collector
tracks in SALESLENS_PROFILE + ".runs". Creating SALESLENS_PROFILE + ".reset" starts the totals afresh (after a
warm-up).
Only the script thread is profiled: that is where pages build figures, marshal elements to protobuf and hash
them; the event loop only sends the bytes.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import threading
import time
from pathlib import Path

_LOCK = threading.Lock()
_STATE: dict[str, object] = {"stats": None, "runs": 0, "seconds": 0.0}


def install(path: str) -> None:
    """Wrap Streamlit's ScriptRunner._run_script in cProfile, summing runs into `path`."""
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner.ScriptRunner._run_script
    if getattr(original, "_saleslens_profiled", False):
        return

    def profiled(self, rerun_data) -> None:
        profile = cProfile.Profile()
        started = time.perf_counter()
        try:
            profile.runcall(original, self, rerun_data)
        finally:
            _add(profile, time.perf_counter() - started, Path(path))

    profiled._saleslens_profiled = True  # type: ignore[attr-defined]
    script_runner.ScriptRunner._run_script = profiled


def _add(profile: cProfile.Profile, seconds: float, path: Path) -> None:
    """Add one run's statistics to the running total and write both files."""
    with _LOCK:
        reset = path.with_name(path.name + ".reset")
        if reset.exists():
            reset.unlink()
            _STATE.update(stats=None, runs=0, seconds=0.0)
        stats = _STATE["stats"]
        if stats is None:
            stats = _STATE["stats"] = pstats.Stats(profile)
        else:
            stats.add(profile)  # type: ignore[union-attr]
        _STATE["runs"] = int(_STATE["runs"]) + 1
        _STATE["seconds"] = float(_STATE["seconds"]) + seconds
        stats.dump_stats(str(path))  # type: ignore[union-attr]
        path.with_name(path.name + ".runs").write_text(
            f"{_STATE['runs']} {_STATE['seconds']:.3f} {len(gc.get_objects())}\n")
