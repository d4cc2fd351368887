"""CI files: loaders that keep positions, the GitHub expression language, job graphs and
step classification (which steps test, which deploy). The rules live in `rules/ci/`."""
