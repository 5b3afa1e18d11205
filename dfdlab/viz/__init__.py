"""Figures for the lessons: spectra, residual and gradient maps, grids, curves, diagrams.

One module per kind of figure: ``diagram`` (architecture block diagrams), ``grids``
(image grids), ``frequency`` (spectra), ``curves`` (ROC, bars, heatmaps).
"""
