#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, and nothing
# else: `scripts/install-test-tools.sh` (as root, or it uses sudo), then
# `npm ci && npm test`. .ci/run calls this script.
#
#   sip-tester    SIPp, the SIP load generator and its RFC 2833 pcaps
#   tcpdump       captures what a call leg actually received on loopback
#   espeak-ng, sox  prompt generation and generated test audio
#   libxml2-utils xmllint for the FreeSWITCH configuration checks
#   chromium      the browser the agent console test drives (playwright-core
#                 with executablePath /usr/bin/chromium: playwright's own browser
#                 download is not reachable from these machines)
#   sipvicious    svmap and svwar scan the system from a network namespace outside
#                 SIP_ALLOW (needs root and iproute2's `ip netns`) and must learn nothing
#   iproute2      `ip netns` and the veth pair for that scan
#   prometheus    promtool checks and unit-tests the alert rules in monitoring/
#   openssl       a self-signed certificate for the HTTPS tests
#   procps        sysctl, read and raised by the benchmark's smoke run
#   rtpengine-daemon  rtpengine, the benchmark's DTMF-masking relay peer (userspace, --table=-1)
#   kamailio      Kamailio 5.6 with the dispatcher module, in front of the cluster
#                 tests' nodes (kamailio/kamailio.cfg); kamcmd reads its state
#   baresip-core  baresip, an independent SIP phone (not ours) that calls over TLS
#                 with SRTP (SDES) and keys RFC 4733 events, and answers as the agent
#                 (the `baresip` metapackage adds only GUI and codec recommends)
#   postgresql-15 the PostgreSQL store's contract suite and STORE=postgres runs
#                 (tools/postgres-server.ts: initdb in a temporary folder, no service)
set -euo pipefail

PACKAGES=(
  sip-tester
  tcpdump
  espeak-ng
  sox
  libxml2-utils
  chromium
  sipvicious
  iproute2
  prometheus
  openssl
  procps
  rtpengine-daemon
  kamailio
  baresip-core
  postgresql-15
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${PACKAGES[@]}"
