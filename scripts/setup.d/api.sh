# api.sh -- sourced by scripts/setup.sh: what the publish API's tests use: curl, the
# client tests/integration/test_api.py drives the API's routes with (a backend's usual
# tool; python3-websockets, for the chat clients, is installed by setup.sh already).
ensure_debs curl || true
