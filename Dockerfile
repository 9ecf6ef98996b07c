# syntax=docker/dockerfile:1

# --- build: full install (tsc is a dev dependency), compile, then drop dev dependencies ---
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Manifests first so the dependency layer is reused while only sources change. `npm install`, not
# `npm ci`: the lock file is written where the registry lacks some other platforms' optional
# binaries, and `npm ci` refuses such a lock as out of sync (.ci/run says the same); `npm install`
# follows the lock file for everything it holds.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

# --- runtime: glibc (bookworm) because @temporalio/core-bridge ships glibc-linked binaries ---
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Files stay root-owned: the app only reads them (the worker bundles workflows in memory).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# ROLE (api | worker | all) picks what this process runs; see docker-compose.yml.
CMD ["node", "dist/src/main.js"]
