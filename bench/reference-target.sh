#!/bin/bash
# reference-target.sh - gatewayd as the "custom" target of the reference
# relay harness (../shared/bench/run-relay-bench.sh):
#
#   CUSTOM_NAME=gatewayd CUSTOM_CMD="$PWD/bench/reference-target.sh start" \
#   CUSTOM_QUEUE_CMD="$PWD/bench/reference-target.sh queue" \
#   run-relay-bench.sh postfix custom
#
# start: write a configuration like make bench's (smtp connector,
# concurrency 20, everything relayed to the harness's sink, spool under
# $BENCH_TARGET_DIR) and run gatewayd from this build tree in the
# foreground.  queue: the number of messages still in the spool.
set -eu
B=$(cd "$(dirname "$0")/.." && pwd)
D=$BENCH_TARGET_DIR
case "${1:-}" in
start)
	mkdir -p "$D/spool"
	chmod 755 "$D"
	cat > "$D/gatewayd.yaml" <<YAML
user: _gatewayd
spool: $D/spool
pid_file: $D/gatewayd.pid
control_socket: $D/gatewayd.sock
connector_dir: $B/connectors/.libs
listeners:
  - name: smtp
    address: 127.0.0.1
    port: $BENCH_MTA_PORT
smtp:
  hostname: bench-gw.localdomain
  max_connections_per_client: 1000
relay:
  allow: ["127.0.0.0/8"]
connectors:
  - name: relay
    type: smtp
    concurrency: 20
    settings:
      hosts: [$BENCH_SINK_HOST:$BENCH_SINK_PORT]
      helo: bench-gw.localdomain
rules:
  - name: all
    connector: relay
YAML
	export GATEWAYD_LIBEXECDIR=$B/gatewayd
	exec "$B/gatewayd/gatewayd" -f -c "$D/gatewayd.yaml"
	;;
queue)
	find "$D/spool/incoming" "$D/spool/queue" "$D/spool/active" \
	    "$D/spool/deferred" -type f 2>/dev/null | wc -l
	;;
*)
	echo "usage: $0 start|queue (run by the reference harness)" >&2
	exit 64
	;;
esac
