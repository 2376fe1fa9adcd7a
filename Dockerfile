# labdcs: ONE image for every labdcs process (device services, SCPI simulators, and later the
# ingester and the experiments API). The command picks the role:
#
#   docker run --rm labdcs:0.1.0 device run --config /app/dummy/devices/hv1.yaml
#   docker run --rm labdcs:0.1.0 sim scpi --model keithley2410 --host 0.0.0.0 --port 5025
#
# Build:  docker build -t labdcs:0.1.0 .      (or `docker compose build`, which tags it the same)
#
# Base image: pinned to the Python minor version and the Debian release; the patch release floats
# so rebuilds pick up Python and Debian security fixes. For a bit-for-bit reproducible build pin
# the digest as well, e.g. look it up with
#   docker buildx imagetools inspect python:3.11-slim-bookworm     (the "Digest:" line)
# and build with
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> .
# (or write that reference into the default below; Renovate/Dependabot can keep it current).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# Stage 1: build a self-contained virtualenv in /opt/venv.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /src

# Layer 1, the dependencies: keyed on pyproject.toml alone, so editing the source does not
# reinstall them. setuptools cannot build the package without its package directories, so this
# step does not install the package: it reads the requirement lists out of pyproject.toml
# (tomllib is in the standard library) and installs those, build requirements included, so the
# next step can build offline with --no-build-isolation.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(p['build-system']['requires'] + p['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Layer 2, the package itself (labdcs from services/labdcs, labdcs_dummy from dummy/labdcs_dummy): a regular,
# non-editable install into the virtualenv, then a consistency check of the installed set.
COPY services/labdcs ./services/labdcs
COPY dummy ./dummy
RUN pip install --no-deps --no-build-isolation . \
 && pip check

# ---------------------------------------------------------------------------------------------
# Stage 2: the runtime image: the base image, the virtualenv, the dummy configurations.
# No compiler, no pip cache, no source tree.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Re-declared so the label below can name the base image (an ARG before FROM is not in scope here).
ARG PYTHON_IMAGE
# Keep in step with [project].version in pyproject.toml (tests/test_compose.py checks it).
ARG VERSION=0.1.0
# Set by CI or by hand: docker build --build-arg REVISION=$(git rev-parse HEAD) .
ARG REVISION=unknown

LABEL org.opencontainers.image.title="labdcs" \
      org.opencontainers.image.description="labdcs slow control: device services, SCPI simulators and tools for lab test benches" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    LABDCS_HEALTH_FILE=/tmp/labdcs.health

# A fixed, unprivileged uid/gid (10001) so bind-mounted files can be granted to it on the host.
# mdbtools: mdb-export reads Arbin .res files (Access databases) for the experiments importer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends mdbtools \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 labdcs \
 && useradd --system --uid 10001 --gid labdcs --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin labdcs

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The dummy device configurations, used by docker-compose.dummy.yml as /app/dummy/devices/*.yaml.
# Site configurations for real hardware are bind-mounted read-only at /app/devices instead.
COPY dummy ./dummy

USER 10001:10001

# Every long-running labdcs process touches $LABDCS_HEALTH_FILE on each loop; a stale file means
# a hung loop. (No --start-interval: it needs Docker Engine 25, and the benches run older ones.)
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["labdcs", "healthcheck", "--file", "/tmp/labdcs.health", "--max-age", "30"]

# Device services catch SIGTERM to ramp HV down before exiting: keep the default stop signal and
# give them time (stop_grace_period in compose, --stop-timeout with docker run).
STOPSIGNAL SIGTERM
ENTRYPOINT ["labdcs"]
CMD ["--help"]
