"""Noise models p(x | s): the interface and its files, the histogram, GMM and
Poisson–Gaussian kinds, their fits (calibration pairs, estimates from noisy images, bootstrap
pairs), clipping, and how well a model fits the data."""
