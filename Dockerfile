# deploysafe with everything a scan renders with: the Helm engine (the helm extra) and
# kustomize. It is also the image `deploysafe webhook manifests` runs (`deploysafe:VERSION`):
#   docker build -t deploysafe:0.1.0 .
#   docker run --rm -v "$PWD:/src:ro" -w /src deploysafe:0.1.0 scan .
# Non-root (the webhook Deployment runs it as UID 65532 with a read-only root filesystem).
# The base is pinned by digest and kustomize by version and SHA-256; docs/install.md says
# how to move either.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${PYTHON_IMAGE} AS build
ARG TARGETARCH=amd64
ARG KUSTOMIZE_VERSION=5.4.3
# From the release's checksums.txt, one per architecture the image is built for.
ARG KUSTOMIZE_SHA256_AMD64=3669470b454d865c8184d6bce78df05e977c9aea31c30df3c669317d43bcc7a7
ARG KUSTOMIZE_SHA256_ARM64=1b515578b0af12c15d9856720066ce2fe66756d63785b2cbccaf2885beb2381c
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /build
COPY pyproject.toml README.md LICENSE MANIFEST.in ./
COPY src ./src
RUN python -m venv /opt/deploysafe \
 && /opt/deploysafe/bin/pip install --no-cache-dir --no-compile ".[helm]"
# The slim base has no curl: Python fetches the archive, sha256sum refuses any other bytes.
RUN case "${TARGETARCH}" in \
      amd64) sum="${KUSTOMIZE_SHA256_AMD64}" ;; \
      arm64) sum="${KUSTOMIZE_SHA256_ARM64}" ;; \
      *) echo "no kustomize checksum for ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && archive="kustomize_v${KUSTOMIZE_VERSION}_linux_${TARGETARCH}.tar.gz" \
 && python -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
      "https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}/${archive}" \
      "/tmp/${archive}" \
 && echo "${sum}  /tmp/${archive}" | sha256sum --check --strict \
 && tar -xzf "/tmp/${archive}" -C /usr/local/bin kustomize \
 && chmod 0755 /usr/local/bin/kustomize \
 && /usr/local/bin/kustomize version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="deploysafe" \
      org.opencontainers.image.description="Secure Kubernetes deployments: six practices, one policy file." \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/deploysafe /opt/deploysafe
COPY --from=build /usr/local/bin/kustomize /usr/local/bin/kustomize
# HOME and the caches point at /tmp: UID 65532 has no home folder, and a read-only root
# filesystem leaves only a mounted /tmp writable.
ENV PATH=/opt/deploysafe/bin:$PATH \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /src
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["deploysafe"]
CMD ["--help"]
