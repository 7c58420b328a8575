"""yizhan 驿站: planner for outdoor workers' rest stations.

One import package. The shared core lives here: errors (:mod:`yizhan.errors`), atomic output
and file hashing (:mod:`yizhan.io`), output folders that never lose a user's file
(:mod:`yizhan.outdir`), progress and logging (:mod:`yizhan.log`) and the test-data locator
(:mod:`yizhan.shared`). The domain packages are :mod:`yizhan.stations`, :mod:`yizhan.geo` and
:mod:`yizhan.maps` (top-level folders of the repository, installed as subpackages); the command
line is :mod:`yizhan.scripts.cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "run"]


def __getattr__(name: str) -> object:
    """Return :func:`yizhan.run` (the yearly run) on first use; ``import yizhan`` stays light."""
    if name == "run":
        from yizhan.pipeline.analysis import run

        return run
    raise AttributeError(f"module 'yizhan' has no attribute {name!r}")
