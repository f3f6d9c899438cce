#!/bin/sh
# Bans C calls that are easy to misuse (as curl's checksrc does): unbounded
# copies and formatting, non-reentrant tokenising, gets.  Exits 1 naming
# every offending line.
set -u
cd "$(dirname "$0")/.." || exit 2
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|atoi|atol)[[:space:]]*\(' \
      include/*.h lib/*.c lib/*.h cli/*.c cli/*.h server/*.c server/*.h bench/*.c fuzz/*.c 2>/dev/null)
if [ -n "$bad" ]; then
    echo "lint: banned calls (use snprintf, memcpy with a checked length, strtol, strtok_r):" >&2
    echo "$bad" >&2
    exit 1
fi
exit 0
