"""Training: settings and presets, the training data, blind-spot masking, losses, the
spread's choice and the guard against a wrong noise model, several processes, the trainer."""
