#!/bin/sh
# Installs the Claude Code that tests/harness/claude_e2e.py drives (npm
# @anthropic-ai/claude-code@2.1.328, ~360 MB with its native binary) into
# target/harness/claude-code unless it is already there, then prints its version.
#
#   tests/harness/install_claude.sh            # from anywhere in the repository
#   CLAUDE_CODE_PREFIX=/some/dir tests/harness/install_claude.sh
#
# Needs only Node and npm (Node 20 works although the package declares node >= 22: npm warns,
# does not refuse). npm's cache is used as usual (--prefer-offline), so a warm cache installs
# without the network. `claude --version` needs no network, no login and no HOME set-up.
set -eu

VERSION=2.1.328
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
prefix=${CLAUDE_CODE_PREFIX:-$repo/target/harness/claude-code}
pkg=$prefix/node_modules/@anthropic-ai/claude-code
claude=$prefix/node_modules/.bin/claude

installed_version() {
    [ -f "$pkg/package.json" ] || return 1
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg/package.json"
}

if [ ! -x "$claude" ] || [ "$(installed_version || true)" != "$VERSION" ]; then
    mkdir -p "$prefix"
    echo "installing @anthropic-ai/claude-code@$VERSION into $prefix" >&2
    npm install --no-audit --no-fund --prefer-offline --prefix "$prefix" \
        "@anthropic-ai/claude-code@$VERSION" >&2
fi

# The package's postinstall copies the platform's native binary over bin/claude.exe. When
# npm ran without scripts (--ignore-scripts, or a config that sets it), bin/claude.exe is
# still the small placeholder: run the postinstall now.
if ! "$claude" --version >/dev/null 2>&1; then
    echo "bin/claude.exe is not the native binary yet: running the package's postinstall" >&2
    (cd "$pkg" && node install.cjs) >&2
fi

"$claude" --version
