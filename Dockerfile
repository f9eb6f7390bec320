FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY vendor ./vendor
# The dependencies' layer is rebuilt only when they change: npm's prepare (scripts/build.mjs) finds no src/ yet
# and says so; the build then runs once src/ is in (esbuild, a regular dependency: src/ → dist/, under a second).
COPY scripts/build.mjs ./scripts/build.mjs
RUN npm ci --omit=dev && npm cache clean --force
COPY src ./src
RUN node scripts/build.mjs
# Checks the policy file, copies the secret files to a tmpfs with the broker's owner and mode, and runs the
# command as node (see the script). Started as root (Compose) it drops to node; started as node it stays.
COPY deploy/docker-entrypoint.sh /usr/local/bin/jit-entrypoint
USER node
EXPOSE 3000
# /readyz: Redis, workers, reconcile and Slack; in Socket Mode it listens on HEALTH_PORT instead of PORT.
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+((process.env.SLACK_APP_TOKEN||process.env.SLACK_APP_TOKEN_FILE?process.env.HEALTH_PORT:process.env.PORT)||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/local/bin/jit-entrypoint"]
# node itself on the compiled code, no wrapper: signals (SIGTERM, SIGINT, SIGHUP) reach the broker; the
# entrypoint execs it, so it is the container's process 1. Plain JavaScript: no compiler in the process (tsx's
# loader thread cost ≈ 50 MB of RSS). The flag: a smaller young generation (src/system/heap-tuning.ts).
CMD ["node", "--max-semi-space-size=4", "dist/main.js", "start"]
