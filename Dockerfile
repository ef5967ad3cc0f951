# The cxpulse image: one CLI for every role (worker, simulator, alert router, sink, console).
#   docker build -t cxpulse:local .
#   docker run --rm cxpulse:local --help
# The base image is pinned to an exact Python patch release on Debian bookworm; every
# Python package comes at the version the lock (constraints.txt) gives.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/cxpulse
COPY . .
RUN pip install pip==26.3 \
    && pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /var/lib/cxpulse --create-home cxpulse

USER cxpulse
WORKDIR /var/lib/cxpulse
ENTRYPOINT ["cxpulse"]
CMD ["--help"]
