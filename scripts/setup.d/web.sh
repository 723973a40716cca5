# web.sh -- sourced by scripts/setup.sh: what the chat page and its browser tests need:
# Debian's chromium (driven by the tests; no browser is downloaded from npm) and the npm
# packages of web/ (fzstd, embedded into the binary) and tests/web/ (playwright-core).
ensure_debs chromium || true
npm_ci_if_stale web
npm_ci_if_stale tests/web
