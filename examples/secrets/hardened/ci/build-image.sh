#!/bin/sh
# the token reaches only the RUN step that mounts it (see the Dockerfile), never a layer
set -eu
docker build --secret id=npmrc,src="$HOME/.npmrc" -t "registry.shop.internal/web:$CI_COMMIT_SHORT_SHA" .
