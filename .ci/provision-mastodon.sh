#!/usr/bin/env bash
# Provisions the Mastodon connector's test server: GoToSocial (a Mastodon-API server in Go, SQLite
# backend) built from the Go module proxy, with its web templates (the OAuth sign-in and authorize
# pages the tests drive) and a warm WebAssembly compilation cache (its ffmpeg/SQLite builds compile
# in ~12 s on the first start, ~2 s afterwards). test/support/gotosocial.ts finds it in the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${HERALD_CI_CACHE:-$HOME/.cache/herald-ci}"
GTS_VERSION=v0.19.2
# v0.19.2 is the newest release the proxy serves (code.superseriousbusiness.org/gotosocial and
# later github.com tags answer 403). It must build with Go < 1.25: codeberg.org/gruf/go-mutexes
# links into sync's internals for go1.22–go1.24 only. `go` fetches that toolchain from the proxy.
GTS_MODULE=github.com/superseriousbusiness/gotosocial
GTS_TOOLCHAIN=go1.24.11
dir="$CACHE/gotosocial-$GTS_VERSION"

if ! { [ -x "$dir/gotosocial" ] && [ -f "$dir/web/template/sign-in.tmpl" ] && "$dir/gotosocial" --version 2>/dev/null | grep -q "${GTS_VERSION#v}"; }; then
  command -v go >/dev/null || { echo "provision-mastodon: Go is needed to build GoToSocial" >&2; exit 1; }
  echo "provision-mastodon: building GoToSocial $GTS_VERSION (CGO off; ~5 min on 2 cores)"
  scratch=$(mktemp -d)
  trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
  # `go install pkg@version` refuses modules with replace directives (GoToSocial has two), so the
  # module is built in a writable copy of its source, where its own go.mod applies.
  src=$(cd "$scratch" && go mod download -json "$GTS_MODULE@$GTS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -d "$src" ] || { echo "provision-mastodon: could not download $GTS_MODULE@$GTS_VERSION" >&2; exit 1; }
  cp -R "$src" "$scratch/src"
  chmod -R u+w "$scratch/src"
  mkdir -p "$dir"
  (
    cd "$scratch/src"
    GOTOOLCHAIN="$GTS_TOOLCHAIN" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
      go build -trimpath -ldflags "-s -w -X main.Version=${GTS_VERSION#v}" -o "$dir/gotosocial.new" ./cmd/gotosocial
  )
  rm -rf "$dir/web"
  mkdir -p "$dir/web"
  cp -R "$scratch/src/web/template" "$scratch/src/web/assets" "$dir/web/"
  mv "$dir/gotosocial.new" "$dir/gotosocial"
fi
echo "provision-mastodon: $("$dir/gotosocial" --version 2>/dev/null | head -n 1) at $dir"

# Warm the WebAssembly compilation cache with one start on loopback (a failure here only makes the
# first test run slower).
if [ ! -d "$dir/wazero-cache" ] || [ -z "$(ls -A "$dir/wazero-cache" 2>/dev/null)" ]; then
  warm=$(mktemp -d)
  port=$((20000 + RANDOM % 30000))
  cat >"$warm/config.yaml" <<EOF
host: "127.0.0.1:$port"
protocol: http
bind-address: 127.0.0.1
port: $port
log-level: warn
db-type: sqlite
db-address: $warm/sqlite.db
storage-local-base-path: $warm/storage
web-template-base-dir: $dir/web/template/
web-asset-base-dir: $dir/web/assets/
letsencrypt-enabled: false
EOF
  GTS_WAZERO_COMPILATION_CACHE="$dir/wazero-cache" "$dir/gotosocial" --config-path "$warm/config.yaml" server start >"$warm/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$port/api/v1/instance" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$warm"
  echo "provision-mastodon: WebAssembly cache warmed in $dir/wazero-cache"
fi
