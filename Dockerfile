# Pulse: one image with every binary (pulse-server, pulse-miner, pulse-validator,
# pulse-xapi, pulse-chain), built in a Rust stage and copied into a small runtime stage
# that runs as an unprivileged user. Nothing secret goes into the image: settings come from the
# environment (see docker-compose.yml, .env.example and docs/configuration.md).
#
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" -t pulse .

# Stage 1, the dependency skeleton: the workspace's manifests, Cargo.lock and .cargo/, plus
# an empty stub at the path of every target (lib, bin, test, bench, example, build script)
# of every workspace member. The members and their targets come from `cargo metadata`, so a
# new crate or target needs no change here. This stage re-runs on any change to the
# sources, but its output changes only when a manifest, the lock file or the set of
# targets does, and Docker's cache for `COPY --from` is keyed by the files' contents: after
# a source-only change the dependency build below is taken from the cache. (The same idea
# as cargo-chef's recipe, in a few lines of shell, so the build needs no extra tool.)
FROM rust:1-slim-bookworm AS skeleton
WORKDIR /src
COPY . .
RUN set -eu; \
    mkdir -p /skeleton; \
    cp Cargo.toml Cargo.lock /skeleton/; \
    if [ -d .cargo ]; then cp -r .cargo /skeleton/; fi; \
    cargo metadata --no-deps --format-version 1 > /tmp/metadata.json; \
    grep -o '"manifest_path":"[^"]*"' /tmp/metadata.json | cut -d'"' -f4 | \
    while IFS= read -r manifest; do \
        relative=${manifest#/src/}; \
        mkdir -p "/skeleton/$(dirname "$relative")"; \
        cp "$manifest" "/skeleton/$relative"; \
    done; \
    grep -o '"src_path":"[^"]*"' /tmp/metadata.json | cut -d'"' -f4 | \
    while IFS= read -r target; do \
        relative=${target#/src/}; \
        mkdir -p "/skeleton/$(dirname "$relative")"; \
        case "$relative" in \
            */lib.rs) : > "/skeleton/$relative" ;; \
            *) echo 'fn main() {}' > "/skeleton/$relative" ;; \
        esac; \
    done

# Stage 2, the build: dependencies first, from the skeleton, in their own cached layer;
# then the sources, whose timestamps are refreshed so cargo rebuilds every workspace crate
# over its stub (a copied file keeps its old time, which cargo would take as up to date).
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# sqlx checks queries against the committed .sqlx cache: no database is needed to build.
ENV SQLX_OFFLINE=true CARGO_TERM_COLOR=never
COPY --from=skeleton /skeleton/ ./
RUN cargo build --release --locked -p server -p miner -p validator -p xapi -p chain
COPY . .
# The commit the binaries report in their *_build_info metric (.git is not in the context).
ARG REVISION=unknown
ENV PULSE_BUILD_COMMIT=${REVISION}
RUN find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p server -p miner -p validator -p xapi -p chain \
 && mkdir /out \
 && cp target/release/pulse-server target/release/pulse-miner \
       target/release/pulse-validator target/release/pulse-xapi target/release/pulse-chain /out/

# Stage 3, the runtime image.
FROM debian:bookworm-slim
# The version defaults to the workspace's (Cargo.toml, kept equal by tests/tests/compose.rs);
# REVISION is the commit, SOURCE the repository's URL, both given at build time.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="Pulse" \
      org.opencontainers.image.description="Coordination stack of a Bittensor subnet that turns posts on X into a validated signal about subnets: pulse-server, pulse-miner, pulse-validator, pulse-xapi, pulse-chain" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pulse \
 && useradd --system --uid 10001 --gid pulse --home-dir /var/lib/pulse --create-home pulse \
 && chmod 0755 /var/lib/pulse \
 && mkdir -p /var/lib/pulse/state \
 && chown pulse:pulse /var/lib/pulse/state
COPY --from=build /out/ /usr/local/bin/
COPY data/ /usr/share/pulse/data/
USER pulse
WORKDIR /var/lib/pulse
# HOME is set, and open to every uid (0755, it holds nothing secret), so that `~` (the
# default wallet path ~/.bittensor/wallets, the default state directories) means
# /var/lib/pulse whatever uid the container runs as (`docker run --user`, to read a wallet
# owned by that uid: docs/configuration.md, Running with Docker).
ENV HOME=/var/lib/pulse PULSE_BIND=0.0.0.0:8001
EXPOSE 8001 8002 9944
# The default command is the server, whose healthcheck subcommand asks its /ready (no curl
# in the image). Containers running another program of the image (miner, validator, X
# double) should disable it: `docker run --no-healthcheck`, or `healthcheck: disable: true`
# in compose, as docker-compose.yml does.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["pulse-server", "healthcheck"]
CMD ["pulse-server"]
