# syntax=docker/dockerfile:1
# Build image for the fedora-40 cells of the CPython build matrix, for linux/amd64, linux/arm64.
# Rendered by `matrix images` from the matrix definition: edit the definition, not this file.
# It holds toolchains only: each build script downloads its CPython source at run time.
FROM docker.io/library/fedora:40@sha256:7cdd2b48396929bb8723ea2fa60e03bee39cc22e2a853cbd891587fab4eb1bc9

LABEL org.opencontainers.image.title="build-cpython:fedora-40" \
      org.opencontainers.image.base.name="docker.io/library/fedora:40" \
      org.opencontainers.image.base.digest="sha256:7cdd2b48396929bb8723ea2fa60e03bee39cc22e2a853cbd891587fab4eb1bc9"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Packages from the distribution, in one layer:
#   tools the build script calls:
#     bash ca-certificates coreutils curl findutils grep gzip make rsync sed tar
#   CPython's build dependencies (ssl, ffi, bz2, lzma, sqlite, readline, ncurses, tk, zlib, uuid, gdbm):
#     bzip2-devel gdbm-devel libffi-devel libuuid-devel ncurses-devel openssl-devel pkgconf-pkg-config readline-devel sqlite-devel tk-devel xz-devel zlib-ng-compat-devel
#   GCC 14:
#     gcc gcc-c++
#   GCC's ASan runtime, shared and static:
#     libasan libasan-static
#   GCC's HWASan runtime, shared and static:
#     libhwasan libhwasan-static
#   GCC's TSan runtime, shared and static:
#     libtsan libtsan-static
#   clang 18 and lld (-fuse-ld=lld):
#     clang lld
#   clang's sanitizer runtimes (libclang_rt.*):
#     compiler-rt
# Versions come from the pinned base's release; pinning each would break as mirrors move on.
# --allowerasing lets curl replace curl-minimal where the base image has it.
# hadolint ignore=DL3041
RUN dnf install -y --setopt=install_weak_deps=False --allowerasing \
        bash \
        bzip2-devel \
        ca-certificates \
        clang \
        compiler-rt \
        coreutils \
        curl \
        findutils \
        gcc \
        gcc-c++ \
        gdbm-devel \
        grep \
        gzip \
        libasan \
        libasan-static \
        libffi-devel \
        libhwasan \
        libhwasan-static \
        libtsan \
        libtsan-static \
        libuuid-devel \
        lld \
        make \
        ncurses-devel \
        openssl-devel \
        pkgconf-pkg-config \
        readline-devel \
        rsync \
        sed \
        sqlite-devel \
        tar \
        tk-devel \
        xz-devel \
        zlib-ng-compat-devel \
    && dnf clean all
