FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
# Checks the policy file, copies the secret files to a tmpfs with the broker's owner and mode, and runs the
# command as node (see the script). Started as root (Compose) it drops to node; started as node it stays.
COPY deploy/docker-entrypoint.sh /usr/local/bin/jit-entrypoint
USER node
EXPOSE 3000
# /readyz: Redis, workers, reconcile and Slack; in Socket Mode it listens on HEALTH_PORT instead of PORT.
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+((process.env.SLACK_APP_TOKEN||process.env.SLACK_APP_TOKEN_FILE?process.env.HEALTH_PORT:process.env.PORT)||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/local/bin/jit-entrypoint"]
# node itself, not the tsx wrapper: signals reach the broker (tsx relays SIGTERM and SIGINT only, not SIGHUP);
# the entrypoint execs it, so it is the container's process 1.
CMD ["node", "--import", "tsx", "src/main.ts", "start"]
