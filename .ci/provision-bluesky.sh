#!/usr/bin/env bash
# Provisions what the local Bluesky network (test/networks/bluesky-env, @atproto/dev-env) needs on a
# fresh machine, idempotently: PostgreSQL and Redis listening on 127.0.0.1, Node 24.18.1 from the npm
# registry's `node` package (better-sqlite3 12 crashes on Node 24.19+), and the env's modules built
# against that Node's headers. Everything is cached under ${HERALD_CI_CACHE:-$HOME/.cache/herald-ci};
# the env's node_modules becomes a link into the cache, keyed by its lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${HERALD_CI_CACHE:-$HOME/.cache/herald-ci}"
BSKY_NODE_VERSION=24.18.1
ENV_DIR=test/networks/bluesky-env
mkdir -p "$CACHE"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- PostgreSQL and Redis (the AppView's database and cache) ------------------------------------
if ! listening 5432; then
  echo "provision-bluesky: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi
if ! listening 6379; then
  echo "provision-bluesky: starting Redis"
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
fi
for _ in $(seq 1 50); do listening 5432 && listening 6379 && break; sleep 0.2; done
listening 5432 || { echo "provision-bluesky: PostgreSQL is not listening on 127.0.0.1:5432 (the Bluesky AppView needs it)" >&2; exit 1; }
listening 6379 || { echo "provision-bluesky: Redis is not listening on 127.0.0.1:6379 (the Bluesky AppView needs it)" >&2; exit 1; }

# --- Node 24.18.1, beside (never instead of) the Node that runs Herald ---------------------------
node_prefix="$CACHE/node-$BSKY_NODE_VERSION"
node_bin="$node_prefix/node_modules/.bin/node"
if [ "$("$node_bin" --version 2>/dev/null)" != "v$BSKY_NODE_VERSION" ]; then
  echo "provision-bluesky: installing Node $BSKY_NODE_VERSION into $node_prefix"
  rm -rf "$node_prefix"
  npm install --prefix "$node_prefix" --no-save --no-audit --no-fund --loglevel=error "node@$BSKY_NODE_VERSION"
fi
headers=$(ls -d "$node_prefix"/node_modules/node/node_modules/node-{linux,darwin}-*/ 2>/dev/null | head -n 1 || true)
headers="${headers%/}"
[ -d "$headers/include/node" ] || { echo "provision-bluesky: no Node headers under $headers" >&2; exit 1; }

# --- the env's modules, built with and for Node 24.18.1 ------------------------------------------
works() { (cd "$ENV_DIR" && "$node_bin" -e "new (require('better-sqlite3'))(':memory:').close(); import('@atproto/dev-env')" >/dev/null 2>&1); }
key=$(cat "$ENV_DIR/package.json" "$ENV_DIR/package-lock.json" <(echo "$BSKY_NODE_VERSION") | sha256sum | cut -c1-16)
modules="$CACHE/bluesky-env/$key"
if [ ! -f "$modules/.complete" ]; then
  echo "provision-bluesky: installing $ENV_DIR's modules into $modules (a few minutes, once)"
  rm -rf "$modules"
  mkdir -p "$modules"
  cp "$ENV_DIR/package.json" "$ENV_DIR/package-lock.json" "$modules/"
  (
    cd "$modules"
    # node-gyp must see Node 24.18.1 and its headers, whatever the user's npm config says.
    PATH="$(dirname "$(readlink -f "$node_bin")"):$PATH" npm_config_nodedir="$headers" \
      npm ci --no-audit --no-fund --loglevel=error
  )
  touch "$modules/.complete"
fi
if [ -L "$ENV_DIR/node_modules" ] || [ ! -e "$ENV_DIR/node_modules" ] || ! works; then
  rm -rf "$ENV_DIR/node_modules"
  ln -s "$modules/node_modules" "$ENV_DIR/node_modules"
fi
works || { echo "provision-bluesky: $ENV_DIR does not load on Node $BSKY_NODE_VERSION" >&2; exit 1; }
echo "provision-bluesky: ready (node $BSKY_NODE_VERSION at $node_bin, modules $modules)"
