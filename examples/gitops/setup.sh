# Sourced by demo.sh and timings.sh: a temp folder with its own GnuPG home and git config
# (your keyring and settings are never touched), two keys (a developer's, the release
# bot's), a signed source repository with the sample app, and an empty environment repository.
DEPLOYSAFE=${DEPLOYSAFE:-$(pwd)/.venv/bin/deploysafe}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/deploysafe-gitops.XXXXXX")
export GNUPGHOME="$WORK/gnupg" GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1
cleanup() { gpgconf --kill all 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -m 700 "$GNUPGHOME"
printf '[user]\n\tname = Dev\n\temail = dev@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"
step() { printf '\n== %s\n$ %s\n' "$1" "$2"; }

gpg --batch --passphrase '' --quick-gen-key 'Dev <dev@example.com>' ed25519 sign 1y 2>/dev/null
gpg --batch --passphrase '' --quick-gen-key 'Release Bot <release@example.com>' ed25519 sign 1y 2>/dev/null
fpr() { gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'; }
DEV=$(fpr dev@example.com)
BOT=$(fpr release@example.com)

git init -q --bare "$WORK/shop.git"
git init -q --bare "$WORK/env.git"
cp -r "$HERE/shop" "$WORK/src"
cd "$WORK/src"
mkdir keys
gpg --batch --armor --export "$DEV" >keys/signers.asc
cat >deploysafe.yaml <<YAML
policy: restricted
fail_on: high
tenants:
  shop:
    namespaces: [shop]
environments:
  prod:
    tenant: shop
    source:
      repos: [$WORK/shop.git]
      refs: [refs/heads/main]
      signed_by: {gpg: [$DEV], gpg_keys: keys/signers.asc}
    render: {helm: {chart: chart, values: [values-prod.yaml], namespace: shop}}
    tests:
      - {name: unit, run: sh tests/unit.sh, timeout: 1m}
      - {name: smoke, run: sh tests/smoke.sh, timeout: 1m}
    target: {repo: $WORK/env.git, branch: main, path: clusters/prod/shop}
    sign: {gpg_key: $BOT}
YAML
git init -q && git remote add origin "$WORK/shop.git"
git add -A && git commit -q -S"$DEV" -m "shop 1.4.2" && git push -q origin main

