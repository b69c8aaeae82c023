# Multi-stage build of LockCloud. Not exercised on the development machines (no Docker engine
# runs there); kept correct by reading. Build: docker build -t lockcloud .
FROM swift:6.2-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies first so source edits reuse the cached layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY openapi ./openapi
RUN swift build -c release --product lockcloud \
    && cp "$(swift build -c release --show-bin-path)/lockcloud" /lockcloud

# The slim Swift image carries the Swift runtime libraries and nothing to compile with.
FROM swift:6.2-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app lockcloud
WORKDIR /app
COPY --from=build /lockcloud /app/lockcloud
COPY migrations /app/migrations
USER lockcloud
ENV LOCKCLOUD_HOST=0.0.0.0 LOCKCLOUD_PORT=8080 LOCKCLOUD_MIGRATIONS_DIR=/app/migrations
EXPOSE 8080
ENTRYPOINT ["/app/lockcloud"]
CMD ["serve"]
