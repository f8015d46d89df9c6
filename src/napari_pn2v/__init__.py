"""napari-pn2v: Probabilistic Noise2Void denoising for napari and the command line."""

__version__ = "0.1.0"
