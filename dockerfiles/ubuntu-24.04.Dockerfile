# syntax=docker/dockerfile:1
# Build image for the ubuntu-24.04 cells of the CPython build matrix, for linux/amd64, linux/arm64.
# Rendered by `matrix images` from the matrix definition: edit the definition, not this file.
# It holds toolchains only: each build script downloads its CPython source at run time.
FROM docker.io/library/ubuntu:24.04@sha256:1e622c5f073b4f6bfad6632f2616c7f59ef256e96fe78bf6a595d1dc4376ac02

LABEL org.opencontainers.image.title="build-cpython:ubuntu-24.04" \
      org.opencontainers.image.base.name="docker.io/library/ubuntu:24.04" \
      org.opencontainers.image.base.digest="sha256:1e622c5f073b4f6bfad6632f2616c7f59ef256e96fe78bf6a595d1dc4376ac02"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ARG DEBIAN_FRONTEND=noninteractive

# Packages from the distribution, in one layer:
#   tools the build script calls:
#     bash ca-certificates coreutils curl findutils grep gzip make rsync sed tar
#   fetching and checking apt.llvm.org's signing key:
#     gpg
#   CPython's build dependencies (ssl, ffi, bz2, lzma, sqlite, readline, ncurses, tk, zlib, uuid, gdbm):
#     libbz2-dev libffi-dev libgdbm-compat-dev libgdbm-dev liblzma-dev libncurses-dev libreadline-dev libsqlite3-dev libssl-dev pkg-config tk-dev uuid-dev zlib1g-dev
#   GCC 13:
#     gcc g++
#   GCC 13's sanitizer runtimes (libasan.so/.a, libhwasan, libtsan links):
#     libgcc-13-dev
#   clang 18 and lld (-fuse-ld=lld):
#     clang lld
#   clang 18's sanitizer runtimes (not installed with clang without recommends):
#     libclang-rt-18-dev
# Versions come from the pinned base's release; pinning each would break as mirrors move on.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        bash \
        ca-certificates \
        clang \
        coreutils \
        curl \
        findutils \
        g++ \
        gcc \
        gpg \
        grep \
        gzip \
        libbz2-dev \
        libclang-rt-18-dev \
        libffi-dev \
        libgcc-13-dev \
        libgdbm-compat-dev \
        libgdbm-dev \
        liblzma-dev \
        libncurses-dev \
        libreadline-dev \
        libsqlite3-dev \
        libssl-dev \
        lld \
        make \
        pkg-config \
        rsync \
        sed \
        tar \
        tk-dev \
        uuid-dev \
        zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

# Packages from apt.llvm.org, in one layer:
#   clang 19, lld 19 and its sanitizer runtimes from apt.llvm.org:
#     clang-19 libclang-rt-19-dev lld-19
# The repository is trusted through one key: the downloaded key file must hold exactly the
# primary key 6084F3CF814B57C1CF12EFD515CF4D18AF4F7421, or the build fails.
# hadolint ignore=DL3008
RUN curl --fail --silent --show-error --location --retry 3 \
        --output /tmp/apt.llvm.org.asc https://apt.llvm.org/llvm-snapshot.gpg.key \
    && keys="$(gpg --batch --show-keys --with-colons /tmp/apt.llvm.org.asc \
        | awk -F: '$1 == "pub" { pub = 1; next } $1 == "fpr" && pub { print $10; pub = 0 }')" \
    && if [ "$keys" != 6084F3CF814B57C1CF12EFD515CF4D18AF4F7421 ]; then \
        echo "error: https://apt.llvm.org/llvm-snapshot.gpg.key holds the keys [$keys], not exactly 6084F3CF814B57C1CF12EFD515CF4D18AF4F7421" >&2; \
        exit 1; \
    fi \
    && install -d -m 0755 /etc/apt/keyrings \
    && gpg --batch --dearmor --output /etc/apt/keyrings/apt.llvm.org.gpg /tmp/apt.llvm.org.asc \
    && rm /tmp/apt.llvm.org.asc \
    && printf '%s\n' \
        'Types: deb' \
        'URIs: https://apt.llvm.org/noble/' \
        'Suites: llvm-toolchain-noble-19' \
        'Components: main' \
        'Signed-By: /etc/apt/keyrings/apt.llvm.org.gpg' \
        >/etc/apt/sources.list.d/apt.llvm.org.sources \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        clang-19 \
        libclang-rt-19-dev \
        lld-19 \
    && rm -rf /var/lib/apt/lists/*
