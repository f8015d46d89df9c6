"""Images in and out: reading, checking and writing, lazy sources for data larger than
memory, files, axis orders, and synthetic data for demos and tests."""
