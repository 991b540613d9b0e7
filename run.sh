#!/usr/bin/env bash
# Starts Postino on embedded defaults from this checkout, building the distribution first if needed.
# Ports below 1024 need root: as another user, set e.g. POSTINO_SMTP_PORT=2525 (see --help).
# Arguments go to bin/postino: `./run.sh start|stop|status` runs it in the background.
# `./run.sh ctl ARGS` runs bin/postinoctl ARGS instead, with this checkout's var/ and conf/.
set -euo pipefail
cd "$(dirname "$0")"
dist="distribution/target/postino-0.1.0-SNAPSHOT/postino-0.1.0-SNAPSHOT"
# Written after a build by this script: the files of the distribution keep the modification
# times of their sources, so they cannot tell whether a source changed since. conf/ is not a
# source here: the server reads the checkout's conf/ (below), so an edit there needs no build.
built="distribution/target/run.sh.built"
if [ ! -x "$dist/bin/postino" ] || [ ! -f "$built" ] \
    || [ -n "$(find pom.xml */pom.xml server/src/main core/src/main mailets/src/main matchers/src/main distribution/src \
        -newer "$built" -type f 2>/dev/null | head -1)" ]; then
    mvn -B -q install -DskipTests
    touch "$built"
fi
# The checkout's conf/, so that an edit of conf/organisations.xml (or any file there) is what runs.
export POSTINO_CONF_DIR="${POSTINO_CONF_DIR:-$PWD/conf}"
# Keep the data of a checkout's server beside the checkout, not inside the build output.
export POSTINO_DATA_DIR="${POSTINO_DATA_DIR:-$PWD/var}"
# bin/postinoctl finds the token and WebAdmin's port as the server does, through the same variables.
if [ "${1:-}" = ctl ]; then
    shift
    exec "$dist/bin/postinoctl" "$@"
fi
exec "$dist/bin/postino" "$@"
