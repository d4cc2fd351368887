#!/bin/sh
grep -q "kind: Deployment" "$DEPLOYSAFE_RENDERED"/*/deployment-*.yaml && echo "smoke: ok"
