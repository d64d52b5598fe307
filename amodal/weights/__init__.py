"""The checkpoint shipped with the package (default.pt); see docs/TRAINING.md for how it was made."""
