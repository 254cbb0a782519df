#!/usr/bin/env bash
# Prints the path of a free-threaded CPython interpreter, building one if the machine has none.
#
# Order: $TONIO_PYTHON, then python3.14t / python3.13t on PATH, then a cached build under
# $TONIO_CACHE (default ~/.cache/tonio). With none of those, CPython 3.13 is built with
# --disable-gil from Debian trixie's source package and cached, so the next run is instant. The
# source is fetched through a private apt state dir that reuses the archive URI and keyring of the
# machine's own apt sources (which stay untouched); the script names no host of its own.
# Build output goes to stderr; stdout carries only the interpreter path.
set -euo pipefail

cache="${TONIO_CACHE:-$HOME/.cache/tonio}"
prefix="$cache/python3.13t"

is_free_threaded() {
    "$1" -c 'import sys; sys.exit(0 if not sys._is_gil_enabled() else 1)' >/dev/null 2>&1
}

# Prints "<archive URI> <keyring path>" of the first Debian archive in the machine's apt sources.
debian_archive() {
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -r "$file" ] || continue
        # deb822: stanzas separated by blank lines; keep the first whose URI is a Debian archive.
        awk 'BEGIN { RS = ""; FS = "\n" }
            {
                uri = ""; key = ""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*$/, "", uri) }
                    if ($i ~ /^Signed-By:/) { key = $i; sub(/^Signed-By:[ \t]*/, "", key) }
                }
                if (uri ~ /^https?:\/\/[^ ]*\/debian\/?$/) { print uri, key; exit }
            }' "$file"
    done | head -1 | grep . && return 0
    local list
    for list in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$list" ] || continue
        sed -nE 's|^deb(-src)? +\[([^]]*)\] +(https?://[^ ]*/debian/?) .*|\3 \2|p' "$list" |
            sed -E 's|^([^ ]*) .*signed-by=([^ ]*).*|\1 \2|'
    done | head -1 | grep .
}

if [ -n "${TONIO_PYTHON:-}" ]; then
    if ! is_free_threaded "$TONIO_PYTHON"; then
        echo "TONIO_PYTHON=$TONIO_PYTHON is not a free-threaded interpreter" >&2
        exit 1
    fi
    command -v "$TONIO_PYTHON"
    exit 0
fi
for candidate in python3.14t python3.13t "$prefix/bin/python3.13t"; do
    if command -v "$candidate" >/dev/null 2>&1 && is_free_threaded "$candidate"; then
        command -v "$candidate"
        exit 0
    fi
done

echo "no free-threaded CPython found: building 3.13 with --disable-gil into $prefix" >&2
work="$cache/build"
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"

# The private sources list reuses the archive URI and keyring of the machine's own Debian apt
# source (deb822 `.sources` stanzas or one-line `.list` entries); nothing else is assumed.
read -r uri keyring < <(debian_archive) || true
if [ -z "${uri:-}" ]; then
    echo "cannot build a free-threaded CPython: no Debian archive (a URI ending in /debian) in" \
        "the apt sources under /etc/apt; install python3.13t or set TONIO_PYTHON" >&2
    exit 1
fi
if [ -z "${keyring:-}" ] || [ ! -r "$keyring" ]; then
    echo "cannot build a free-threaded CPython: the apt source for $uri names no readable" \
        "signed-by keyring (got '${keyring:-nothing}'); install python3.13t or set TONIO_PYTHON" >&2
    exit 1
fi
echo "deb-src [signed-by=$keyring] $uri trixie main" >"$work/sources.list"
apt_opts=(
    -o "Dir::Etc::SourceList=$work/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
)
apt-get "${apt_opts[@]}" update >&2
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only python3.13 >&2)

tarball=$(ls "$work"/python3.13_*.orig.tar.xz | head -1)
tar -xJf "$tarball" -C "$work"
src=$(ls -d "$work"/Python-3.13.*/ | head -1)
(
    cd "$src"
    ./configure --disable-gil --prefix="$prefix" --with-ensurepip=install >&2
    make -j"$(nproc)" >&2
    make install >&2
)
rm -rf "$work"
if ! is_free_threaded "$prefix/bin/python3.13t"; then
    echo "built $prefix/bin/python3.13t but it is not free-threaded" >&2
    exit 1
fi
echo "$prefix/bin/python3.13t"
