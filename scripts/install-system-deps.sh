#!/usr/bin/env bash
# Install the system packages cacofonisk needs beyond Python, where missing.
#
# Graphviz's `dot` renders the state diagrams and per-call diagrams as SVG
# and PNG (`cacofonisk diagram call -o call.svg`, `cacofonisk replay LOG
# --diagram DIR`, tests/test_diagram.py). DOT and Mermaid output need no
# system package. Chromium and chromium-driver run the call board's browser
# tests. Debian/Ubuntu (apt-get) only; safe to run again: it installs only
# what is missing from PATH.
set -euo pipefail

MISSING=()
if command -v dot >/dev/null 2>&1; then
    echo "install-system-deps: graphviz present ($(dot -V 2>&1))"
else
    MISSING+=(graphviz)
fi
# Headless Chromium and its WebDriver: the call board's browser tests
# (tests/test_web_board.py drive Debian's chromium through chromedriver).
for tool in chromium:chromium chromedriver:chromium-driver; do
    if command -v "${tool%%:*}" >/dev/null 2>&1; then
        echo "install-system-deps: ${tool%%:*} present"
    else
        MISSING+=("${tool#*:}")
    fi
done
# nats-server with JetStream: the durable delivery tests and bench/delivery.py
# (tests/test_nats_delivery.py start their own servers). Debian installs it
# in /usr/sbin, which is not on every user's PATH.
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
    echo "install-system-deps: nats-server present"
else
    MISSING+=(nats-server)
fi
if [ "${#MISSING[@]}" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: ${MISSING[*]} missing and apt-get is not available;" \
         "install them with this system's package manager" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-system-deps: run as root (or install sudo) to apt-get install ${MISSING[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# a mirror hiccup should not fail a whole CI run: retry the index update
for attempt in 1 2 3; do
    if $SUDO apt-get update -qq; then
        break
    fi
    if [ "$attempt" -eq 3 ]; then
        echo "install-system-deps: apt-get update failed 3 times" >&2
        exit 1
    fi
    sleep 5
done
$SUDO apt-get install -y -qq "${MISSING[@]}" >/dev/null
echo "install-system-deps: installed ${MISSING[*]}"
