"""triton-gitops: one models.yaml in git, compiled into a Triton model repository and synced to storage."""

__version__ = "0.1.0"
