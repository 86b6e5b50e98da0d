# Lethe: one image for every process (`api`, `worker`, `migrate`, `check`, `demo`).
#   docker build -t lethe .   &&   docker run --rm --env-file .env lethe worker
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false

# Dependencies first, so the layer is reused while only the source changes. tsx runs the
# TypeScript directly, so no build step and no dev dependencies are needed.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .

# Export zips (mode 0600) live here; compose mounts one volume at this path for api and worker.
RUN mkdir -p /var/lib/lethe/exports && chown node:node /var/lib/lethe/exports

USER node
EXPOSE 8080
ENTRYPOINT ["npx", "tsx", "workers/cli.ts"]
CMD ["--help"]
