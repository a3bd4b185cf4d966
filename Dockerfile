# The callback mock as a container image.
#
#   docker build -t callback-kit .                       (podman: add --format docker to keep the HEALTHCHECK)
#   docker run --rm -p 127.0.0.1:8080:8080 -v callback-kit-state:/data callback-kit
#
# Configured by the same CALLBACK_KIT_* variables as `callback-kit serve` (CALLBACK_KIT_STORE,
# CALLBACK_KIT_SERVE_WORKERS, CALLBACK_KIT_ADMIN_TOKEN, ...), or by `serve` options given after the image name.
# Another base with Python 3.11 or newer: --build-arg BASE=python:3.12-slim
ARG BASE=python:3.11-slim

# The builder makes the wheels and installs them into a virtual environment; the image gets only that.
FROM ${BASE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/callback-kit
WORKDIR /src
# The dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change, not with the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > requirements.txt \
 && /opt/callback-kit/bin/pip wheel --wheel-dir /wheels -r requirements.txt \
 && /opt/callback-kit/bin/pip install --no-index --find-links /wheels -r requirements.txt
COPY . .
RUN /opt/callback-kit/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/callback-kit/bin/pip install --no-index --find-links /wheels callback-contract-kit \
 && /opt/callback-kit/bin/callback-kit lint

FROM ${BASE}
LABEL org.opencontainers.image.title="callback-contract-kit" \
      org.opencontainers.image.description="A stateful mock of Matcher's exception-callback endpoint" \
      org.opencontainers.image.source="https://github.com/LerianStudio/callback-contract-kit" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric user that owns nothing but the state volume (Kubernetes' runAsNonRoot can check a number).
RUN groupadd --gid 10001 callback-kit \
 && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home --home-dir /data --shell /usr/sbin/nologin \
      callback-kit \
 && mkdir /data \
 && chown 10001:10001 /data
COPY --from=builder /opt/callback-kit /opt/callback-kit
ENV PATH=/opt/callback-kit/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CALLBACK_KIT_HOST=0.0.0.0 \
    CALLBACK_KIT_PORT=8080 \
    CALLBACK_KIT_STORE=sqlite:////data/mock.sqlite3
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8080
# Healthy while the mock answers and its store is reachable (GET /_mock/health needs no token).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_mock/health' % (os.environ.get('CALLBACK_KIT_PORT') or 8080), timeout=2)"]
# The exec form makes `callback-kit` PID 1: uvicorn takes SIGTERM (`docker stop`) and shuts down at once.
ENTRYPOINT ["callback-kit", "serve"]
