#!/bin/sh
# CI builds the web image with the registry token the Dockerfile's ARG asks for
set -eu
docker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t "registry.shop.internal/web:$CI_COMMIT_SHORT_SHA" .
