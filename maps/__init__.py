"""Folium rendering: one function per layer, one function that assembles the map."""
