# loadgate in a container: `docker build -t loadgate .`, then from your project's folder
#   docker run --rm --network host --user "$(id -u):$(id -g)" -v "$PWD:/work" loadgate \
#     gate scenarios/checkout.toml --target http://127.0.0.1:8080
# (`--network host` so that a service on the host's loopback is reachable; `--user` so that the
# baselines and reports it writes belong to you.)

# Build stage: the full toolchain, thrown away afterwards.
FROM rust:1-slim-bookworm AS builder
WORKDIR /build
COPY . .
# Cache mounts keep the registry and the build between `docker build`s (BuildKit, the default).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin loadgate \
    && cp target/release/loadgate /usr/local/bin/loadgate

# Final stage: glibc, CA certificates and the binary; no shell, no package manager, not root.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /usr/local/bin/loadgate /usr/local/bin/loadgate
WORKDIR /work
USER nonroot
ENTRYPOINT ["/usr/local/bin/loadgate"]
CMD ["--help"]
