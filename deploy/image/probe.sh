#!/bin/bash
# The image's health check: GET http://127.0.0.1:${MESHCAST_HTTP_PORT:-5080}${1:-/readyz}, exit 0
# on a 2xx. bash and its builtins only (/dev/tcp, read): a check starts no Node, whose start-up
# took over the 3 s timeout on a loaded 2-core box and got healthy swarm tasks replaced.
path=${1:-/readyz}
exec 3<>"/dev/tcp/127.0.0.1/${MESHCAST_HTTP_PORT:-5080}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
read -r -t 2 _ status _ <&3 || exit 1
[[ $status == 2?? ]]
