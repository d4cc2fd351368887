#!/bin/sh
# The GitOps tour: a signed source repository, an environment repository, two releases,
# history, diff, a rollback and the platform config, all in a temp folder.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/setup.sh"

step "plan: every stage, nothing written" "deploysafe deploy prod --plan --trust-on-first-use"
"$DEPLOYSAFE" deploy prod --plan --trust-on-first-use
step "the first release: the checkout's source policy becomes the trust anchors" \
  "deploysafe deploy prod --trust-on-first-use"
"$DEPLOYSAFE" deploy prod --trust-on-first-use
printf 'replicas: 4\nmessage: hello from prod\n' >values-prod.yaml
git commit -q -a -S"$DEV" -m "four replicas" && git push -q origin main
step "a second release" "deploysafe deploy prod"
"$DEPLOYSAFE" deploy prod
step "what it changed" "deploysafe diff prod"
"$DEPLOYSAFE" diff prod
step "roll back (prod-2 is marked bad)" "deploysafe rollback prod --reason 'latency up'"
"$DEPLOYSAFE" rollback prod --reason "latency up"
step "history" "deploysafe history prod"
"$DEPLOYSAFE" history prod
step "an unsigned commit never reaches the environment" "deploysafe deploy prod"
git commit -q --allow-empty --no-gpg-sign -m "unsigned" && git push -q origin main
"$DEPLOYSAFE" deploy prod || echo "(exit $?)"
step "the cluster side for Argo CD" "deploysafe platform --out platform"
"$DEPLOYSAFE" platform --out "$WORK/platform"
"$DEPLOYSAFE" scan "$WORK/platform" --fail-on low
