#!/bin/sh
# Starts Kamailio on kamailio/kamailio.cfg in the foreground, after writing
# the dispatcher list from KAMAILIO_NODES: the IVR nodes' SIP addresses,
# "host:port" separated by commas, all in set 1, all probed. The docker
# image and the local cluster (tools/cluster/) both start Kamailio this way.
#
#   KAMAILIO_NODES    the nodes (required), e.g. 10.0.0.11:5060,10.0.0.12:5060
#   KAMAILIO_RUN_DIR  where the list is written; default /run/kamailio
#   KAMAILIO_MEMORY_MB shared memory; default 64
#
# kamailio.cfg reads its other settings from the environment (see its head).
# Adding a node: add it to KAMAILIO_NODES and restart, or add a line to the
# list file and run `kamcmd -s <KAMAILIO_CTL_SOCKET> dispatcher.reload`.
set -eu

: "${KAMAILIO_NODES:?set KAMAILIO_NODES to the IVR nodes, host:port,host:port}"
: "${KAMAILIO_LISTEN:?set KAMAILIO_LISTEN to the ip:port Kamailio listens on}"
RUN_DIR="${KAMAILIO_RUN_DIR:-/run/kamailio}"
mkdir -p "$RUN_DIR"

LIST="$RUN_DIR/dispatcher.list"
: > "$LIST"
for node in $(printf '%s' "$KAMAILIO_NODES" | tr ',' ' '); do
  case "$node" in
    *[!A-Za-z0-9.:_-]*|'') echo "run-kamailio.sh: not a host:port: $node" >&2; exit 2 ;;
  esac
  # set id, destination, flags (0: active until a probe says otherwise), priority
  printf '1 sip:%s 0 0\n' "$node" >> "$LIST"
done

export KAMAILIO_DISPATCHER_LIST="$LIST"
CFG="${KAMAILIO_CFG:-$(dirname "$0")/kamailio.cfg}"
# -DD: stay in the foreground (the caller holds the pid); -E: log to stderr.
exec kamailio -DD -E -f "$CFG" -m "${KAMAILIO_MEMORY_MB:-64}" -M 8 -Y "$RUN_DIR"
