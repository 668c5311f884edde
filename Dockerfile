# syntax=docker/dockerfile:1
#
# The payment IVR application (agent-bridge, the payment flow and the media
# server adapters). docker-compose.yml runs it next to drachtio-server and
# FreeSWITCH with MEDIA_SERVER=freeswitch.
#
#   build    compiles TypeScript; better-sqlite3 builds from source here
#   prod     the same node_modules pruned to production dependencies
#   runtime  what runs: Node, dist/, production node_modules, the prompts,
#            as an unprivileged user (PCI DSS 2.2, 7.2)
#   qa       the QA kit (SIPp and npm run qa) for the compose "qa" profile

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci && test -f node_modules/better-sqlite3/build/Release/better_sqlite3.node
COPY tsconfig.json tsconfig.build.json ./
COPY domain domain
COPY vault vault
COPY store store
COPY media-server media-server
COPY psp psp
COPY ivr ivr
COPY agent-bridge agent-bridge
COPY app app
RUN npm run build

FROM build AS prod
RUN npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_HOST=0.0.0.0
WORKDIR /app
# A fixed uid: the data volume is initialised from /data below with this owner.
RUN groupadd --system --gid 10001 ivr \
  && useradd --system --uid 10001 --gid ivr --home-dir /app --shell /usr/sbin/nologin ivr \
  && mkdir -p /data/recordings \
  && chown -R ivr:ivr /data \
  && chmod 700 /data
COPY --from=prod /app/package.json ./package.json
COPY --from=prod /app/node_modules ./node_modules
COPY --from=prod /app/dist ./dist
# Files the application reads at run time (found from package.json's folder).
COPY ivr/prompts/audio ./ivr/prompts/audio
COPY ivr/orders/demo-orders.json ./ivr/orders/demo-orders.json
COPY agent-bridge/console/public ./agent-bridge/console/public
USER ivr
# 8080: agent-bridge (console, REST API, WebSocket); 8085: FreeSWITCH's outbound event socket connections.
EXPOSE 8080 8085
CMD ["node", "dist/app/main.js"]

FROM build AS qa
RUN apt-get update \
  && apt-get install -y --no-install-recommends sip-tester \
  && rm -rf /var/lib/apt/lists/*
COPY tools tools
COPY scripts scripts
COPY tests/sipp tests/sipp
# SIPp's play_dtmf sends RTP through a raw socket: this test tool runs as root.
ENTRYPOINT ["npm", "run", "qa", "--"]
