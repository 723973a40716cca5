# tls.sh -- sourced by scripts/setup.sh: what the TLS tests need besides libssl-dev (in
# setup.sh's build packages): the openssl command, which makes their self-signed
# certificates (tests/integration/test_tls.py, tests/web/tls.test.mjs,
# tests/bots/tls_swarm_test.py, bots/bench and bots/storm --transports tls).
ensure_debs openssl || true
