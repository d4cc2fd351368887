"""The secrets detector: token formats, credential words, credential file names and
gitleaks rules. It knows no policy: callers pass their options in."""
