"""Spatial analysis: road networks, worker demand, network coverage, gaps and site selection.

One concern per module, in the order of the flow:

- :mod:`~yizhan.geo.modes`: the travel modes (walk, e-bike, drive), their speeds, filters and
  aliases; :mod:`~yizhan.geo.network`: the compact road network structure and the graph
  filters; :mod:`~yizhan.geo.sources`: building it from GraphML, OSM XML, ``.osm.pbf`` or a
  place name; :mod:`~yizhan.geo.netcache`: the cache file;
- :mod:`~yizhan.geo.paths`: snapping and shortest paths (compiled loops in ``_kernels``);
- :mod:`~yizhan.geo.rules`: coverage rules and the worker-group vocabulary;
  :mod:`~yizhan.geo.demand`, :mod:`~yizhan.geo.grid`, :mod:`~yizhan.geo.hotspots`,
  :mod:`~yizhan.geo.osm_proxies`: worker demand;
- :mod:`~yizhan.geo.areas`: study and admin areas (the one polygon reader and point-in-area
  rule); the one local projection is :func:`yizhan.stations.coords.local_utm`;
- :mod:`~yizhan.geo.coverage` (the one ``coverage.csv`` layout), :mod:`~yizhan.geo.service_areas`,
  :mod:`~yizhan.geo.gaps`, :mod:`~yizhan.geo.candidates`: coverage, gaps and candidate sites;
- :mod:`~yizhan.geo.siting`: a subpackage, one module per model family (``mclp``, ``lscp``,
  ``pmedian``) listed in ``registry``, shared constraints, HiGHS and heuristics, one typed
  options object, and ``suggest`` (the step ``yizhan suggest`` and ``yizhan run`` share).
"""
