# syntax=docker/dockerfile:1

# ---- build stage ------------------------------------------------------------
FROM swift:6.3-bookworm AS build

# Versions are not pinned: the Debian bookworm archive only carries the current
# security-patched version, so a pin would break the build at the next update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libcurl4-openssl-dev \
        libhiredis-dev \
        libmicrohttpd-dev \
        libssl-dev \
        pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Resolve dependencies in their own layer so that source changes reuse it.
COPY Package.swift ./
RUN swift package resolve

# The binary is stripped: its symbols are most of its size (scripts/image-check
# prints both). Tests/ is copied too: SwiftPM rejects a manifest whose declared test target
# has no directory, even when only the taskgate product is built.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product taskgate \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/taskgate" /out/taskgate \
    && strip /out/taskgate

# ---- runtime stage ----------------------------------------------------------
FROM debian:bookworm-slim

# Same reason as above for not pinning versions. libstdc++6 and zlib1g are
# already in bookworm-slim; they are named because the binary links them.
# libcurl4 (with libssl3) makes the worker's outbound calls: push targets and
# completion callbacks, TLS through OpenSSL; libssl3 also signs them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        libcurl4 \
        libhiredis0.14 \
        libmicrohttpd12 \
        libssl3 \
        libstdc++6 \
        zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 taskgate \
    && useradd --system --uid 10001 --gid taskgate --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin taskgate

COPY --from=build /out/taskgate /usr/local/bin/taskgate

# Numeric uid:gid (the taskgate user) so that runtimes can verify non-root
# (e.g. Kubernetes runAsNonRoot) without reading /etc/passwd.
USER 10001:10001

ENV TASKGATE_HOST=0.0.0.0 \
    TASKGATE_PORT=8080

EXPOSE 8080

# The same image runs both roles:
#   taskgate serve
#   taskgate worker --exec '...'
#   taskgate worker --http-target https://app.internal/tasks
#   taskgate worker --exec-persistent '...'  (the image has no interpreter:
#     build FROM it and install yours, or push to your app with --http-target)
# No HEALTHCHECK: slim has no curl or wget. Probe GET /healthz and GET /readyz
# from the orchestrator instead.
ENTRYPOINT ["/usr/local/bin/taskgate"]
CMD ["serve"]
