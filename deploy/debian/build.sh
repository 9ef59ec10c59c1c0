#!/usr/bin/env bash
# build.sh [OUTDIR]: build omstil and its Debian package into OUTDIR
# (default dist/), print the .deb's path. Run from anywhere.
#
#   VERSION     package and binary version (default: from git, e.g.
#               0.0.0~git20261207174900.1f9ef4b; a release sets e.g. 1.2.0)
#   GOARCH      target architecture (default: go env GOARCH)
#   MAINTAINER  the package's Maintainer field
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-dist}

if [[ -z "${VERSION:-}" ]]; then
	when=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S 2>/dev/null || date -u +%Y%m%d%H%M%S)
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	VERSION="0.0.0~git${when}.${commit}"
fi
export VERSION
export GOARCH=${GOARCH:-$(go env GOARCH)}
export MAINTAINER=${MAINTAINER:-omstil developers}

mkdir -p dist "$out"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o dist/omstil ./cmd/omstil
go tool nfpm package --config deploy/debian/nfpm.yaml --packager deb --target "$out/" >&2
echo "$out/omstil_${VERSION}_${GOARCH}.deb"
