# walmart-sync runtime image: the sidecar only (no local stack, no test tools).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WALMART_SYNC_LOG__FORMAT=json \
    WALMART_SYNC_OPS__HOST=0.0.0.0

RUN groupadd --system --gid 10001 walmart-sync \
 && useradd --system --uid 10001 --gid walmart-sync --home-dir /home/walmart-sync --create-home walmart-sync

WORKDIR /opt/walmart-sync
COPY pyproject.toml README.md ./
COPY walmart_sync ./walmart_sync
COPY operations ./operations
COPY cdc_listener ./cdc_listener
COPY cdc_debezium ./cdc_debezium
COPY sync_workers ./sync_workers
COPY domain ./domain
COPY mappings ./mappings
COPY plumbing ./plumbing
COPY config ./config
RUN pip install . && rm -rf /opt/walmart-sync/build

USER walmart-sync
WORKDIR /home/walmart-sync
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["walmart-sync", "healthcheck"]
ENTRYPOINT ["walmart-sync"]
CMD ["--help"]
