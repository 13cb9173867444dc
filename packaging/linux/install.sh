#!/bin/sh
# Install OCTGuard from this unpacked archive.
#
#   sudo ./install.sh                 # /opt/octguard, /usr/local/bin/octguard, system menu entry
#   ./install.sh                      # as a normal user: ~/.local/share/octguard, ~/.local/bin
#   ./install.sh --prefix DIR [--bindir DIR] [--datadir DIR] [--no-check]
#
# --datadir is where applications/ (menu entry) and icons/ go:
# /usr/share for root, ~/.local/share otherwise.
#
# Installing again replaces the previous version. What was installed is
# listed in PREFIX/install-manifest.txt, which uninstall.sh reads.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" = 0 ]; then
    PREFIX=/opt/octguard; BINDIR=/usr/local/bin; SHARE=/usr/share
else
    PREFIX=${XDG_DATA_HOME:-$HOME/.local/share}/octguard; BINDIR=$HOME/.local/bin
    SHARE=${XDG_DATA_HOME:-$HOME/.local/share}
fi
CHECK=1

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#*=}; shift ;;
        --bindir) BINDIR=$2; shift 2 ;;
        --bindir=*) BINDIR=${1#*=}; shift ;;
        --datadir) SHARE=$2; shift 2 ;;
        --datadir=*) SHARE=${1#*=}; shift ;;
        --no-check) CHECK=0; shift ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
    esac
done

[ -x "$HERE/OCTGuard/OCTGuard" ] || { echo "install.sh: $HERE/OCTGuard/OCTGuard not found; run me from the unpacked archive" >&2; exit 1; }
case "$PREFIX" in /*) ;; *) PREFIX=$(pwd)/$PREFIX ;; esac
case "$PREFIX" in /|/usr|/usr/local|/opt|"$HOME") echo "install.sh: refusing to install straight into $PREFIX; use a folder of its own" >&2; exit 1 ;; esac

echo "Installing OCTGuard to $PREFIX"
mkdir -p "$(dirname "$PREFIX")" "$BINDIR" "$SHARE/applications" \
         "$SHARE/icons/hicolor/256x256/apps" "$SHARE/icons/hicolor/scalable/apps"
# copy next to the target, then swap, so a failed copy leaves the old install working
rm -rf "$PREFIX.new"
cp -a "$HERE/OCTGuard" "$PREFIX.new"
cp "$HERE/uninstall.sh" "$PREFIX.new/uninstall.sh"
if [ -e "$PREFIX" ]; then
    [ -f "$PREFIX/install-manifest.txt" ] || { rm -rf "$PREFIX.new"; echo "install.sh: $PREFIX exists but is not an OCTGuard install; not touching it" >&2; exit 1; }
    rm -rf "$PREFIX.old"; mv "$PREFIX" "$PREFIX.old"
fi
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"

ln -sfn "$PREFIX/OCTGuard" "$BINDIR/octguard"
DESKTOP=$SHARE/applications/octguard.desktop
sed "s|@PREFIX@|$PREFIX|g" "$HERE/octguard.desktop" > "$DESKTOP"
chmod 644 "$DESKTOP"
cp "$HERE/octguard.png" "$SHARE/icons/hicolor/256x256/apps/octguard.png"
cp "$HERE/octguard.svg" "$SHARE/icons/hicolor/scalable/apps/octguard.svg"
cat > "$PREFIX/install-manifest.txt" <<MANIFEST
$BINDIR/octguard
$DESKTOP
$SHARE/icons/hicolor/256x256/apps/octguard.png
$SHARE/icons/hicolor/scalable/apps/octguard.svg
MANIFEST
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" 2>/dev/null || true

echo "Installed: $BINDIR/octguard -> $PREFIX/OCTGuard, menu entry $DESKTOP"
case ":$PATH:" in *":$BINDIR:"*) ;; *) echo "Note: $BINDIR is not on PATH; add it or run $PREFIX/OCTGuard" ;; esac
if [ "$CHECK" = 1 ]; then
    if [ -d "$PREFIX/_internal/models/default" ]; then
        echo "Self-test (octguard smoke):"
        "$PREFIX/OCTGuard" smoke || { echo "install.sh: the self-test FAILED (see above)" >&2; exit 1; }
    else
        echo "Note: this build ships no model (models/default); start it with --model DIR or choose one in the viewer."
    fi
fi
