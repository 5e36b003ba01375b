#!/usr/bin/env bash
# Build a local stand-in for the Dockerfile's base image, python:3.11-slim-bookworm, on a machine that can reach
# a Debian mirror but no container registry (run as root).  Debian bookworm's Python is 3.11; the stand-in gets
# `python`/`pip` on PATH, pip allowed to install into the system (Debian marks it externally managed) and this
# machine's CA bundle (its package downloads may go through a TLS-inspecting proxy that only that bundle trusts).
#   docker/stand-in-base.sh [IMAGE_NAME]
set -euo pipefail
image="${1:-python:3.11-slim-bookworm}"
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
mirror="${mirror:-http://deb.debian.org/debian}"
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$rootfs" "$mirror" \
  >/dev/null
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf '[global]\nbreak-system-packages = true\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | docker import - "$image" >/dev/null
echo "built the stand-in base image $image (Debian bookworm, Python $(chroot "$rootfs" python3 -c 'import sys; print(sys.version.split()[0])'))"
