# The image `deploysafe webhook manifests` runs (`deploysafe:VERSION`):
#   docker build -t deploysafe:0.1.0 .
# Non-root (the Deployment runs it as UID 65532 with a read-only root filesystem); the
# webhook needs no shell, no network and no writable path.
FROM python:3.11-slim
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --no-compile . \
 && rm -rf /build
WORKDIR /
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["deploysafe"]
CMD ["serve", "--help"]
