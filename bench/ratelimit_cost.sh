#!/usr/bin/env bash
# CPU cost of the rate limits per message, without the rest of the server: see
# server/src/test/java/io/postino/server/ratelimit/RateLimitCostBenchmark.java. Needs Redis on
# 127.0.0.1:6379 (scripts/ensure-redis) and a build (mvn -B -q install -DskipTests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis
mvn -B -q -pl server test-compile org.codehaus.mojo:exec-maven-plugin:3.1.0:java \
    -Dexec.classpathScope=test -Dexec.mainClass=io.postino.server.ratelimit.RateLimitCostBenchmark
