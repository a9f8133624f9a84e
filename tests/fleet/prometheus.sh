#!/bin/bash
# prometheus.sh - sourced: start Debian's prometheus on a loopback port,
# scraping the targets it is given, and ask it PromQL over its HTTP API.
# Nothing but loopback is contacted; its config and data live in a
# temporary directory removed, with the process, by prom_stop (call it from
# the caller's EXIT trap).
#
#   prom_start PORT INTERVAL TARGET...   TARGET: HOST:PORT of a /metrics
#   prom_wait_up N [TIMEOUT_S]           until N targets are up (1)
#   prom_query 'PROMQL'                  the API's JSON answer on stdout
#   prom_value 'PROMQL'                  the first sample's value, or ""
#   prom_stop
#
# PROM_PID and PROM_DIR are set while it runs; PROM_BIN overrides the
# binary (default: prometheus on PATH, else /usr/bin/prometheus).
PROM_PID=
PROM_DIR=
PROM_PORT=

prom_start() {
	local port=$1 interval=$2 t targets=
	shift 2
	local bin=${PROM_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}
	[ -x "$bin" ] || { echo "# prometheus: no binary at $bin" >&2; return 1; }
	PROM_DIR=$(mktemp -d /tmp/cvm-prom.XXXXXX)
	PROM_PORT=$port
	for t in "$@"; do
		targets="$targets${targets:+, }'$t'"
	done
	cat >"$PROM_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: $interval
  scrape_timeout: $interval
  evaluation_interval: $interval
scrape_configs:
  - job_name: cvmd
    static_configs:
      - targets: [$targets]
EOF
	"$bin" --config.file="$PROM_DIR/prometheus.yml" \
		--storage.tsdb.path="$PROM_DIR/data" \
		--web.listen-address="127.0.0.1:$port" >"$PROM_DIR/log" 2>&1 &
	PROM_PID=$!
	local i
	for i in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && return 0
		kill -0 "$PROM_PID" 2>/dev/null || break
		sleep 0.2
	done
	echo "# prometheus did not come up; its log:" >&2
	sed 's/^/#   /' "$PROM_DIR/log" | tail -20 >&2
	return 1
}

prom_query() {
	curl -sf --max-time 10 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1"
}

prom_value() {
	prom_query "$1" | jq -r '.data.result[0].value[1] // empty'
}

# prom_wait_up N [TIMEOUT_S]: true once N targets report up == 1.
prom_wait_up() {
	local want=$1 deadline=$((SECONDS + ${2:-30}))
	while ((SECONDS < deadline)); do
		[ "$(prom_value 'count(up == 1)')" = "$want" ] && return 0
		sleep 0.5
	done
	return 1
}

prom_stop() {
	if [ -n "$PROM_PID" ]; then
		kill -TERM "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
		PROM_PID=
	fi
	[ -n "$PROM_DIR" ] && rm -rf "$PROM_DIR"
	PROM_DIR=
}
