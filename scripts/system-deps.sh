#!/bin/sh
# Installs the programs that pip cannot: Graphviz's `dot` (graph rendering) and, for the report
# test, Chromium. Uses apt-get where this machine has it and we may use it; otherwise it says what
# to install by hand and carries on (the Python parts work without them: graphs fall back to .dot
# files, the Chromium test skips).
set -u
want="graphviz"
[ "${1:-}" = "--test" ] && want="graphviz chromium"

missing=""
command -v dot >/dev/null 2>&1 || missing="graphviz"
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then
    missing="$missing chromium"
fi
[ -z "$missing" ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" != "none" ]; then
        echo "system-deps: installing$missing with apt-get"
        $sudo apt-get update -qq >/dev/null 2>&1
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null 2>&1 \
            && exit 0
    fi
fi
echo "system-deps: could not install$missing automatically (wanted: $want)."
echo "  Graphviz: 'sudo apt-get install graphviz', 'brew install graphviz', or https://graphviz.org/download/"
echo "  Without it, graphs are written as .dot text files instead of SVG/PNG."
exit 0
