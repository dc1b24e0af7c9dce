#!/bin/sh
# Installs the programs and data that pip cannot: Graphviz's `dot` (graph rendering), for the
# page tests (report, explorer) Chromium and chromium-driver, which selenium drives (--test), and Debian's Fashion-MNIST package (--fashion: the IDX files in
# /usr/share/datasets/fashion-mnist, which `--dataset fashion` reads before trying a download).
# Uses apt-get where this machine has it and we may use it; otherwise it says what to install by
# hand and carries on (the Python parts work without them: graphs fall back to .dot files, the
# browser tests skip, Fashion-MNIST is downloaded).
set -u
test_deps=""
fashion=""
for arg in "$@"; do
    case "$arg" in
        --test) test_deps=1 ;;
        --fashion) fashion=1 ;;
        *) echo "system-deps: unknown option $arg (use --test, --fashion)"; exit 2 ;;
    esac
done
want="graphviz"
[ -n "$test_deps" ] && want="$want chromium chromium-driver"
[ -n "$fashion" ] && want="$want dataset-fashion-mnist"

missing=""
command -v dot >/dev/null 2>&1 || missing="graphviz"
if [ -n "$test_deps" ] && ! command -v chromium >/dev/null 2>&1; then
    missing="${missing:+$missing }chromium"
fi
if [ -n "$test_deps" ] && ! command -v chromedriver >/dev/null 2>&1; then
    missing="${missing:+$missing }chromium-driver"
fi
if [ -n "$fashion" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
    missing="${missing:+$missing }dataset-fashion-mnist"
fi
[ -z "$missing" ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" != "none" ]; then
        echo "system-deps: installing $missing with apt-get"
        $sudo apt-get update -qq >/dev/null 2>&1
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null 2>&1 \
            && exit 0
    fi
fi
echo "system-deps: could not install $missing automatically (wanted: $want)."
echo "  Graphviz: 'sudo apt-get install graphviz', 'brew install graphviz', or https://graphviz.org/download/"
echo "  Without it, graphs are written as .dot text files instead of SVG/PNG."
[ -n "$fashion" ] && echo "  Fashion-MNIST: 'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu), or let --dataset fashion download it."
exit 0
