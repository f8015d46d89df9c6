"""Models that travel: the denoiser as one TorchScript module and bioimage.io packages."""
