"""Spatial analysis: road networks, worker demand, network coverage, gaps and site selection."""
