"""yizhan 驿站: planner for outdoor workers' rest stations.

The shared core lives here: errors (:mod:`yizhan.errors`), atomic output and file hashing
(:mod:`yizhan.io`), progress and logging (:mod:`yizhan.log`) and the test-data locator
(:mod:`yizhan.shared`). The domain packages are :mod:`stations`, :mod:`geo` and :mod:`maps`;
the command line is :mod:`scripts.cli`.
"""

__version__ = "0.1.0"
