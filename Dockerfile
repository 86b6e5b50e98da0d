# Lethe: one image for every process (`api`, `worker`, `migrate`, `check`, `init`, `request`, ...).
#   docker build -t lethe .   &&   docker run --rm --env-file .env lethe worker
# Node 22: the version every dependency supports (no EBADENGINE on `npm ci`).

# Build stage: the TypeScript compiled to dist/ (dev dependencies stay here).
FROM node:22-slim AS build
WORKDIR /build
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
COPY workers ./workers
RUN npm run build

# Runtime stage: production dependencies and the compiled code only.
FROM node:22-slim
WORKDIR /app
ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /build/dist ./dist
COPY bin ./bin
COPY lethe.schema.json .env.example ./
# The demo shop (its data map and seed script) for docker-compose.yml; your own map is mounted instead.
COPY demo ./demo

# Export zips (mode 0600) live here; compose mounts one volume at this path for api and worker.
RUN mkdir -p /var/lib/lethe/exports && chown node:node /var/lib/lethe/exports

USER node
EXPOSE 8080
# `node` itself is PID 1's child (compose `init: true`) or PID 1: no npm or shell in between, so
# SIGTERM reaches Lethe, which stops taking work, drains running jobs and exits.
ENTRYPOINT ["node", "bin/lethe.js"]
CMD ["--help"]
