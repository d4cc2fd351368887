#!/bin/sh
# The sample app's unit tests: the rendered release must hold the Deployment.
test -f "$DEPLOYSAFE_RENDERED/kustomization.yaml" || { echo "no rendered release"; exit 1; }
echo "unit: ok ($DEPLOYSAFE_ENVIRONMENT, namespace $DEPLOYSAFE_NAMESPACE)"
