#!/usr/bin/env bash
# Starts Postino on embedded defaults from this checkout, building the distribution first if needed.
# Ports below 1024 need root: as another user, set e.g. POSTINO_SMTP_PORT=2525 (see --help).
set -euo pipefail
cd "$(dirname "$0")"
dist="distribution/target/postino-0.1.0-SNAPSHOT/postino-0.1.0-SNAPSHOT"
if [ ! -x "$dist/bin/postino" ] || [ -n "$(find pom.xml */pom.xml conf server/src mailets/src matchers/src distribution/src -newer "$dist/bin/postino" -type f 2>/dev/null | head -1)" ]; then
    mvn -B -q install -DskipTests
fi
# Keep the data of a checkout's server beside the checkout, not inside the build output.
export POSTINO_DATA_DIR="${POSTINO_DATA_DIR:-$PWD/var}"
exec "$dist/bin/postino" "$@"
