#!/bin/sh
# Remove an OCTGuard installation made by install.sh.
#
#   PREFIX/uninstall.sh                 # e.g. sudo /opt/octguard/uninstall.sh
#   ./uninstall.sh --prefix DIR         # from the unpacked archive
#
# Removes the files listed in PREFIX/install-manifest.txt (bin link, menu
# entry, icons) and then PREFIX. User settings and model folders chosen
# elsewhere are left alone.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -f "$HERE/install-manifest.txt" ]; then
    PREFIX=$HERE
elif [ "$(id -u)" = 0 ]; then
    PREFIX=/opt/octguard
else
    PREFIX=${XDG_DATA_HOME:-$HOME/.local/share}/octguard
fi
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#*=}; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

MANIFEST=$PREFIX/install-manifest.txt
[ -f "$MANIFEST" ] || { echo "uninstall.sh: no OCTGuard install at $PREFIX ($MANIFEST missing)" >&2; exit 1; }
while IFS= read -r f; do
    [ -n "$f" ] || continue
    # the bin link is removed only if it still points into this install
    if [ -L "$f" ] && [ "$(readlink "$f")" != "$PREFIX/OCTGuard" ]; then
        echo "keeping $f (points elsewhere now)"; continue
    fi
    rm -f "$f" && echo "removed $f"
done < "$MANIFEST"
cd /
rm -rf "$PREFIX"
echo "removed $PREFIX"
