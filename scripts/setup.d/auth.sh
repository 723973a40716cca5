# auth.sh -- sourced by scripts/setup.sh: what the authentication tests need: Debian's
# PyJWT (python3-jwt) and python3-cryptography, with which tests/integration/test_auth.py
# and tests/web/auth.test.mjs mint tokens (HS256, RS256, ES256) for the gateway's
# --auth. The gateway itself verifies tokens with OpenSSL's libcrypto, already a build
# dependency.
ensure_debs python3-jwt python3-cryptography || true
