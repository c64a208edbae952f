# syntax=docker/dockerfile:1
# One image for every Liandong process; the command chooses which:
#   docker build -t liandong .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e KAFKA_BOOTSTRAP_SERVERS=... \
#     -e LIANDONG_AUTH_SECRET=... liandong serve intake   # classification, routing, feedback
#   docker run --rm ... liandong migrate                  # or: topics, lists check, token ...
# The base is pinned by tag and by the digest of its multi-architecture index (docs/supply-chain.md
# says where the digest comes from and how to check it before a release).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- build: the virtual environment, the code and the classifier's model ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app

# Runtime dependencies only: requirements-image.lock (`make lock`) holds no dev tools and not the
# `embedded` extra (no embedded PostgreSQL, no tansu broker), each file checked against its hash;
# every one is a wheel, so no compiler is needed even here. A code change does not redo this layer.
COPY requirements-image.lock pyproject.toml ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --requirement requirements-image.lock

# The code, installed editable: the package data (the lists' YAML and CSV files, the
# migrations) stays in /app where the code finds it. The classifier's category model
# (git-ignored) is trained here from the committed labelled messages: nothing is written at run
# time.
COPY README.md ./
COPY contracts ./contracts
COPY services ./services
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation --editable . \
 && /opt/venv/bin/liandong lists check \
 && /opt/venv/bin/liandong model train \
 && /opt/venv/bin/liandong model train-routing \
 && /opt/venv/bin/python -m compileall -q /app/contracts /app/services \
 && /opt/venv/bin/pip uninstall --yes pip

# --- runtime: no compiler, no pip, a user without a shell -----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LIANDONG_INTAKE_HOST=0.0.0.0 \
    LIANDONG_CLASSIFICATION_HOST=0.0.0.0 \
    LIANDONG_ROUTING_HOST=0.0.0.0 \
    LIANDONG_FEEDBACK_HOST=0.0.0.0 \
    LIANDONG_CONSOLE_HOST=0.0.0.0
RUN /usr/local/bin/python -m pip uninstall --yes --quiet pip setuptools wheel \
 && groupadd --system --gid 10001 liandong \
 && useradd --system --uid 10001 --gid liandong --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin liandong \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/liandong/keys
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# Numeric, so Kubernetes can check runAsNonRoot. The code is root's and read-only to this user;
# the only writable place it needs is /tmp (the segmenter's cache). /var/lib/liandong/keys is
# where compose mounts the API-keys volume (a new volume takes this directory's owner).
USER 10001:10001
EXPOSE 8000 8001 8002 8003 8080
# Health checks are the orchestrator's (deploy/compose.yaml, k8s/): the port depends on the command.
ENTRYPOINT ["liandong"]
CMD ["--help"]
