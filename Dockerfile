# syntax=docker/dockerfile:1
#
# The production image of the procurement bot. One image, three roles, chosen by the command:
#   docker run procure-bot bot          # Slack HTTP endpoint on :3000 (the default)
#   docker run procure-bot worker       # Temporal worker
#   docker run procure-bot db upgrade   # Alembic migrations (one-shot)
# docker-compose.yml wires them to PostgreSQL and Temporal.

# ---- build: install the project and its dependencies into a self-contained venv ----
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Only what the wheel is built from (setuptools needs README.md: it is the package's readme).
COPY pyproject.toml README.md ./
COPY catalog/ catalog/
COPY workflows/ workflows/
COPY bot/ bot/
COPY procure/ procure/
COPY web/ web/

# A regular (non-editable) install: the code lives in site-packages, /src is not needed at run time.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install . \
    && procure --help >/dev/null

# ---- runtime ----
FROM python:3.11-slim AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    BOT_HOST=0.0.0.0 \
    BOT_PORT=3000

RUN groupadd --system --gid 10001 procure \
    && useradd --system --uid 10001 --gid procure --home-dir /home/procure --create-home --shell /usr/sbin/nologin procure

COPY --from=build /opt/venv /opt/venv

WORKDIR /home/procure
USER procure:procure

# Only the Slack endpoint. The metrics ports (BOT_METRICS_PORT 9466, WORKER_METRICS_PORT 9464,
# TEMPORAL_METRICS_PORT 9465) bind METRICS_HOST (127.0.0.1 unless set) and are not exposed, so
# `docker run -P` never publishes them; docker-compose.yml sets METRICS_HOST=0.0.0.0 for its network.
EXPOSE 3000

# Liveness of the bot's HTTP server (GET /healthz); no curl in the image, so Python's urllib.
# urlopen raises on a refused connection or a non-2xx answer, which makes the check fail.
# The worker and the migration job serve no HTTP: docker-compose.yml disables this check for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BOT_PORT', '3000'), timeout=4)" || exit 1

ENTRYPOINT ["procure"]
CMD ["bot"]
