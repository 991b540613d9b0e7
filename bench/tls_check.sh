#!/usr/bin/env bash
# Runs testssl.sh (Debian package testssl.sh) against a running Postino's 465 and 587 (STARTTLS).
# Usage: bench/tls_check.sh [host] [smtps-port] [submission-port]
# Prints testssl's findings of severity LOW and above; the closing note of issue 12 quotes a run.
set -euo pipefail
host=${1:-127.0.0.1}
smtps=${2:-465}
submission=${3:-587}
command -v testssl >/dev/null || { echo "install Debian's testssl.sh first: apt-get install -y testssl.sh" >&2; exit 2; }
testssl --quiet --color 0 --warnings off "$host:$smtps"
testssl --quiet --color 0 --warnings off --starttls smtp "$host:$submission"
