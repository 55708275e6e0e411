#!/usr/bin/env bash
# Checks the TextMate grammar by tokenizing the zoo with vscode-textmate and
# vscode-oniguruma (installed from package-lock.json into node_modules on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/vscode-textmate ] || [ ! -d node_modules/vscode-oniguruma ]; then
    npm ci --no-audit --no-fund
fi
node test/tokenize.mjs
