# Pulse: one image with every binary (pulse-server, pulse-miner, pulse-validator,
# pulse-xapi), built in a Rust stage and copied into a small runtime stage that runs as
# an unprivileged user. Nothing secret goes into the image: settings come from the
# environment (see docker-compose.yml and .env.example).

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# sqlx checks queries against the committed .sqlx cache: no database is needed to build.
ENV SQLX_OFFLINE=true CARGO_TERM_COLOR=never
COPY . .
RUN cargo build --release --locked -p server -p miner -p validator -p xapi \
 && mkdir /out \
 && cp target/release/pulse-server target/release/pulse-miner \
       target/release/pulse-validator target/release/pulse-xapi /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/pulse --create-home pulse \
 && mkdir -p /var/lib/pulse/state \
 && chown pulse:pulse /var/lib/pulse/state
COPY --from=build /out/ /usr/local/bin/
COPY data/ /usr/share/pulse/data/
USER pulse
WORKDIR /var/lib/pulse
ENV PULSE_BIND=0.0.0.0:8001
EXPOSE 8001 8002
CMD ["pulse-server"]
