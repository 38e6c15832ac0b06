# Build: the release binary, with migrations compiled in.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# .cargo/config.toml sets SQLX_OFFLINE=true: the query macros check against .sqlx/, no database.
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY src src
COPY migrations migrations
# The guides /docs serves (docs/feeds.md, docs/1c.md) are compiled in.
COPY docs docs
RUN cargo build --release --locked && strip target/release/domofeed

# Run: a small Debian with the binary, as an unprivileged user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin domofeed \
    && mkdir -p /app/config /app/data \
    && chown domofeed:domofeed /app/data
COPY --from=build /src/target/release/domofeed /usr/local/bin/domofeed
COPY config/domofeed.example.toml /app/config/
WORKDIR /app
# The key that seals feed tokens lives in the data volume (or pass DOMOFEED_SECRET_KEY).
ENV DOMOFEED_BIND=0.0.0.0:8080 \
    DOMOFEED_SECRET_KEY_FILE=/app/data/secret.key
VOLUME ["/app/data"]
USER domofeed
EXPOSE 8080
# GET /readyz from the binary itself: the image has no curl.
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["domofeed", "healthcheck"]
ENTRYPOINT ["domofeed"]
CMD ["serve"]
