"""Runnable entry points: the ``yizhan`` command line and the yearly gap-analysis run."""
