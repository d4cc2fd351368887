"""deploysafe: secure Kubernetes deployments, six practices, one policy file."""

__version__ = "0.1.0"
