#!/usr/bin/env bash
# Build the one-folder app (build.spec) and the Linux installer archive.
#
#   scripts/build_package.sh [--smoke-model DIR] [--skip-build] [--dist DIR] [--work DIR]
#
# Produces DIST/OCTGuard/ (the app) and DIST/octguard-VERSION-linux-ARCH.tar.gz,
# which unpacks to a folder with install.sh, uninstall.sh and the app.
# The app's self-test (smoke) runs before packing; it needs a model: the
# bundled models/default, or --smoke-model DIR for a build without one.
set -euo pipefail
cd "$(dirname "$0")/.."

DIST=dist WORK=build SMOKE_MODEL="" BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke-model) SMOKE_MODEL=$2; shift 2 ;;
        --skip-build) BUILD=0; shift ;;
        --dist) DIST=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build_package.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

VERSION=$(python -c "import core; print(core.__version__)")
ARCH=$(uname -m)
APP=$DIST/OCTGuard

if [ "$BUILD" = 1 ]; then
    pyinstaller --noconfirm --distpath "$DIST" --workpath "$WORK" build.spec
fi
[ -x "$APP/OCTGuard" ] || { echo "build_package.sh: $APP/OCTGuard missing" >&2; exit 1; }

if [ -n "$SMOKE_MODEL" ]; then
    "$APP/OCTGuard" smoke --model "$SMOKE_MODEL"
elif [ -d "$APP/_internal/models/default" ]; then
    "$APP/OCTGuard" smoke
else
    echo "build_package.sh: WARNING: no models/default bundled and no --smoke-model; the self-test did not run" >&2
fi

NAME=octguard-$VERSION-linux-$ARCH
STAGE=$DIST/$NAME
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -al "$APP" "$STAGE/OCTGuard" 2>/dev/null || cp -a "$APP" "$STAGE/OCTGuard"  # hard links: no second copy
cp packaging/linux/install.sh packaging/linux/uninstall.sh packaging/linux/octguard.desktop "$STAGE/"
cp resources/octguard.png resources/octguard.svg "$STAGE/"
cp docs/install.md "$STAGE/INSTALL.md"
GZ=gzip; command -v pigz >/dev/null && GZ=pigz
tar -C "$DIST" -cf - "$NAME" | $GZ > "$DIST/$NAME.tar.gz"
rm -rf "$STAGE"
echo "app:     $APP ($(du -sh "$APP" | cut -f1))"
echo "archive: $DIST/$NAME.tar.gz ($(du -sh "$DIST/$NAME.tar.gz" | cut -f1))"
