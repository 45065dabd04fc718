# Newshound in a container: slim Python 3.11, a non-root user, the database on a volume.
#   docker build -t newshound .
#   docker run -d --env-file .env -v newshound-data:/data newshound
# PYTHON_IMAGE lets a build use a mirror or a pinned digest of the same image.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the package needs (README.md is its long description): tests and benches stay out.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN python -m venv /opt/newshound \
    && /opt/newshound/bin/pip install --no-compile . \
    && /opt/newshound/bin/python -m compileall -q /opt/newshound/lib

FROM ${PYTHON_IMAGE}
# A fixed uid, so a host directory mounted on /data can be given to it (chown 10001).
RUN groupadd --system --gid 10001 newshound \
    && useradd --system --uid 10001 --gid newshound --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin newshound \
    && mkdir /data && chown newshound:newshound /data && chmod 700 /data
COPY --from=build /opt/newshound /opt/newshound
ENV PATH=/opt/newshound/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_PATH=/data/newshound.sqlite3 \
    HTTP_PORT=8080
USER newshound
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# GET /healthz on HTTP_PORT from inside the container (127.0.0.1, so the default HTTP_LISTEN
# serves it); a refused connection, a timeout or a non-2xx answer exits 1. The start period
# covers loading the dictionaries and starting the parser workers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]
# SIGTERM is a clean stop (exit 0); `docker stop` sends it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["newshound"]
CMD ["run"]
