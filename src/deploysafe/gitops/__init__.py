"""GitOps releases: the deploy pipeline, the environment repository, the platform config."""
