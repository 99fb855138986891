#!/bin/sh
# write_kv.sh FILE KEY=VALUE...: what a sipp <exec> action hands to the test driver, one
# KEY=VALUE per line, written atomically (the driver polls for FILE). A script, because sipp's
# XML reader does not decode &gt; / &amp; in attributes, so redirections cannot be inline.
out=$1
shift
printf '%s\n' "$@" > "$out.tmp" && mv "$out.tmp" "$out"
