"""The network: the U-Net, the prior it predicts and the posterior made of it, the model
with its configuration and file."""
