# syntax=docker/dockerfile:1
# Image of the training service (--role=server, the default) and of the training worker
# (--role=worker, gRPC health on 50056).
# Build from the repository root:
#   docker build -f deploy/docker/training.Dockerfile -t ethscan/training:dev .
# The build stage compiles with tools/dev (same toolchain as CI); the runtime stage holds the
# binary, exactly the shared-library packages it loads, and a non-root user.

FROM debian:12 AS build
WORKDIR /src
COPY CMakeLists.txt ./
COPY tools/ tools/
COPY protos/ protos/
COPY common/ common/
COPY services/ services/
RUN tools/dev setup
RUN --mount=type=cache,target=/root/.cache/ccache \
    ETHSCAN_CMAKE_ARGS="-DETHSCAN_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release" \
      tools/dev build ethscan_training \
    && tools/docker/runtime-packages build/bin/ethscan_training > /runtime-packages.txt

FROM debian:12-slim
COPY --from=build /runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
    && xargs -a /tmp/runtime-packages.txt \
      apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
    && groupadd --system --gid 10001 ethscan \
    && useradd --system --uid 10001 --gid ethscan --home-dir /var/lib/ethscan \
      --shell /usr/sbin/nologin ethscan \
    && install -d -o ethscan -g ethscan /var/lib/ethscan
COPY --from=build /src/build/bin/ethscan_training /usr/local/bin/ethscan_training
USER 10001:10001
WORKDIR /var/lib/ethscan
EXPOSE 50053 50056
ENTRYPOINT ["/usr/local/bin/ethscan_training"]
CMD ["--role=server"]
