"""Prediction: tiled MMSE prediction in bounded memory, and on a dask cluster."""
