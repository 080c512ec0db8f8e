"""tools/run_odoo_tests.py's secrets check: a secret the tests saw issued, found in Odoo's log, fails the run."""
import importlib.util
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[1] / "tools" / "run_odoo_tests.py"
spec = importlib.util.spec_from_file_location("run_odoo_tests", RUNNER)
run_odoo_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_odoo_tests)


def test_lines_holding_an_issued_secret_are_named(tmp_path):
    log, secrets = tmp_path / "odoo.log", tmp_path / "secrets.txt"
    log.write_text("INFO a line\nERROR bad query: UPDATE x SET token='rt-0123456789abcdef-xyz'\nINFO\n"
                   "INFO Bearer at-fedcba9876543210\n")
    secrets.write_text("rt-0123456789abcdef-xyz\nat-fedcba9876543210\nnever-logged-0123456789\n")
    assert run_odoo_tests.leaked_secrets(log, secrets) == [2, 4]


def test_a_clean_log_and_a_run_that_recorded_nothing(tmp_path):
    log = tmp_path / "odoo.log"
    log.write_text("INFO nothing to see\n")
    (tmp_path / "secrets.txt").write_text("rt-0123456789abcdef-xyz\n")
    assert run_odoo_tests.leaked_secrets(log, tmp_path / "secrets.txt") == []
    assert run_odoo_tests.leaked_secrets(log, tmp_path / "missing.txt") is None
