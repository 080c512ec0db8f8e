#!/usr/bin/env bash
# The one test command: installs what the tests need into .venv, then runs
# every test tier this machine can run and says which it skipped and why.
#
#   tools/run-tests.sh            all tiers
#   tools/run-tests.sh -k delta   extra arguments go to pytest (Python tier)
#
# Tiers:
#   lint    ruff check (unused/undefined names, syntax errors)        always
#   python  tests/ (core, sandbox, client against the sandbox)     always
#   odoo    microsoft_calendar_sync/tests on Odoo 19 with a throwaway PostgreSQL
#           only where `import odoo` works (the venv sees the system's site-packages)
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV (with the system's site-packages, so an installed Odoo is visible)"
    "$PYTHON" -m venv --system-site-packages "$VENV" || { echo "cannot create a virtualenv with $PYTHON" >&2; exit 2; }
fi
PY="$VENV/bin/python"
echo "== installing test requirements and this repository (editable)"
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements-test.txt -e '.[sandbox]' \
    || { echo "pip install failed: see above" >&2; exit 2; }

declare -a summary=()
status=0

echo "== lint: ruff check (pyflakes-level mistakes)"
if "$PY" -m ruff check .; then summary+=("lint: passed"); else summary+=("lint: FAILED"); status=1; fi

echo "== tier python: pytest tests/"
"$PY" -m pytest tests -q -p no:cacheprovider "$@"
rc=$?
case $rc in
    0) summary+=("python: passed") ;;
    5) summary+=("python: no tests collected") ;;  # pytest's "nothing collected" is not a failure
    *) summary+=("python: FAILED (pytest exit $rc)"); status=1 ;;
esac

if "$PY" -c "import odoo" >/dev/null 2>&1; then
    echo "== tier odoo: microsoft_calendar_sync on Odoo $("$PY" -c 'import odoo.release as r; print(r.version)' 2>/dev/null)"
    # Odoo's browser tests (tours) need Chromium; install Debian's where we may, else they are skipped (and said so).
    if ! command -v chromium >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1 \
            && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing Chromium for the browser tests (apt-get install chromium)"
        apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
            || echo "   could not install Chromium: the browser tests will be skipped"
    fi
    "$PY" tools/run_odoo_tests.py
    rc=$?
    if [ $rc -eq 0 ]; then summary+=("odoo: passed"); else summary+=("odoo: FAILED (exit $rc)"); status=1; fi
else
    summary+=("odoo: SKIPPED - the odoo package is not importable here (install Odoo 19 to run the addon's tests)")
fi

echo
echo "== summary"
printf '   %s\n' "${summary[@]}"
exit $status
