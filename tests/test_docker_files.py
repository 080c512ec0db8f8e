"""The Docker setup (docker/) is consistent with the repository it packages.

No Docker engine runs the test command, so these checks read the files:
the compose files are valid YAML with the expected services; every build
context, Dockerfile, COPY source and bind-mounted file exists; the settings
the compose file sets are exactly ones the addon reads (parsed from the
addon's source, so renaming a key breaks this test); the demo's client id,
secret and Redirect URI are the sandbox demo seed's; the sandbox's command
line is accepted by its own argument parser; the entrypoint is executable
and valid bash.
"""
import ast
import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
MICROSOFT = DOCKER / "compose.microsoft.yaml"
ADDON = ROOT / "microsoft_calendar_sync"
ENTRYPOINT = DOCKER / "odoo" / "entrypoint.sh"
APPLY_SETTINGS = DOCKER / "odoo" / "apply_settings.py"


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def compose():
    return load(COMPOSE)


@pytest.fixture(scope="module")
def odoo_env(compose):
    return {k: str(v) for k, v in compose["services"]["odoo"]["environment"].items()}


def env_to_param():
    """ENV_TO_PARAM of docker/odoo/apply_settings.py, read without running it."""
    tree = ast.parse(APPLY_SETTINGS.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "ENV_TO_PARAM" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("apply_settings.py has no ENV_TO_PARAM literal")


def params_read_by_addon():
    """The microsoft_calendar_sync.* keys the addon's settings reader and
    settings form use."""
    config = (ADDON / "models" / "microsoft_calendar_config.py").read_text()
    settings = (ADDON / "models" / "res_config_settings.py").read_text()
    assert 'PARAM = "microsoft_calendar_sync.%s"' in config
    read = set(re.findall(r'PARAM\s*%\s*"(\w+)"', config))
    form = set(re.findall(r'config_parameter="microsoft_calendar_sync\.(\w+)"', settings))
    form |= set(re.findall(r'PARAM\s*%\s*"(\w+)"', settings))  # written by set_values (the client secret)
    assert read and form
    return read, form


def demo_seed_app():
    seed = json.loads((ROOT / "outlook_sandbox" / "seeds" / "demo.json").read_text())
    return seed["apps"][0]


def test_compose_files_are_yaml_with_the_expected_services(compose):
    assert set(compose["services"]) == {"db", "sandbox", "odoo"}
    assert compose["services"]["db"]["image"].startswith("postgres:")
    override = load(MICROSOFT)
    assert set(override["services"]) == {"odoo"}


def test_build_contexts_and_dockerfiles_exist(compose):
    built = {name: s["build"] for name, s in compose["services"].items() if "build" in s}
    assert set(built) == {"sandbox", "odoo"}
    for name, build in built.items():
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == ROOT, f"{name}: the build context must be the repository root"
        dockerfile = context / build["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        assert Path(f"{dockerfile}.dockerignore").is_file(), f"{name}: no {dockerfile.name}.dockerignore"


def dockerfile_instructions(path):
    text = re.sub(r"\\\n", " ", path.read_text())
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


@pytest.mark.parametrize("dockerfile", ["docker/odoo/Dockerfile", "docker/sandbox/Dockerfile"])
def test_every_copy_source_exists_and_is_not_ignored(dockerfile):
    path = ROOT / dockerfile
    ignored = [p.strip() for p in Path(f"{path}.dockerignore").read_text().splitlines()
               if p.strip() and not p.startswith("#")]
    sources = []
    for word, rest in dockerfile_instructions(path):
        if word in ("COPY", "ADD"):
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            assert len(args) >= 2, rest
            sources += args[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"{dockerfile}: COPY {source}: no such file in the repository"
        top = source.split("/")[0]
        assert top not in ignored, f"{dockerfile}: {source} is excluded by the .dockerignore"


def test_odoo_image_is_the_official_odoo_19_and_runs_our_entrypoint():
    instructions = list(dockerfile_instructions(DOCKER / "odoo" / "Dockerfile"))
    assert instructions[0] == ("FROM", "odoo:19")
    copies = {tuple(shlex.split(rest)) for word, rest in instructions if word == "COPY"}
    entrypoint_target = next(dst for (src, dst) in (c for c in copies if len(c) == 2)
                             if src == "docker/odoo/entrypoint.sh")
    assert ("ENTRYPOINT", f'["{entrypoint_target}"]') in instructions
    assert ("USER", "odoo") == [i for i in instructions if i[0] == "USER"][-1]
    # the addon lands in a directory of odoo.conf's addons_path
    addon_target = next(dst for (src, dst) in (c for c in copies if len(c) == 2)
                        if src == "microsoft_calendar_sync")
    conf = configparser.ConfigParser()
    conf.read(DOCKER / "odoo" / "odoo.conf")
    assert str(Path(addon_target).parent) in conf["options"]["addons_path"].split(",")
    conf_target = next(dst for (src, dst) in (c for c in copies if len(c) == 2) if src == "docker/odoo/odoo.conf")
    assert conf_target == "/etc/odoo/odoo.conf"  # the official image's ODOO_RC
    settings_target = next(dst for (src, dst) in (c for c in copies if len(c) == 2)
                           if src == "docker/odoo/apply_settings.py")
    assert settings_target in ENTRYPOINT.read_text()


def test_volumes_bind_mounts_exist_and_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_settings_set_by_compose_are_the_ones_the_addon_reads(odoo_env):
    mapping = env_to_param()
    read, form = params_read_by_addon()
    for variable, param in mapping.items():
        assert param in read, f"{variable} sets microsoft_calendar_sync.{param}, which the addon does not read"
        assert param in form, f"microsoft_calendar_sync.{param} is not on the settings form"
    mcs = {k for k in odoo_env if k.startswith("MCS_")} - {"MCS_DEMO", "MCS_WAIT_SECONDS", "MCS_APPLY_SETTINGS"}
    assert mcs == set(mapping), "compose.yaml must set every setting apply_settings.py knows, and only those"
    override = load(MICROSOFT)["services"]["odoo"]["environment"]
    assert {k for k in override if k.startswith("MCS_")} - {"MCS_DEMO"} <= set(mapping)
    assert override["MCS_USE_SANDBOX"] == "False"
    for key in ("MCS_LOGIN_URL", "MCS_GRAPH_URL", "MCS_CA_FILE"):
        assert override[key] == "", f"the real-Microsoft override must clear {key}"
    # every variable the entrypoint and the settings script read is documented in them
    assert "ODOO_BASE_URL" in APPLY_SETTINGS.read_text() and "ODOO_BASE_URL" in odoo_env


def test_demo_settings_match_the_sandbox_seed_and_its_published_port(compose, odoo_env):
    app = demo_seed_app()
    assert odoo_env["MCS_CLIENT_ID"] == app["client_id"]
    assert odoo_env["MCS_CLIENT_SECRET"] == app["client_secret"]
    callback = re.search(r'CALLBACK_PATH = "([^"]+)"',
                         (ADDON / "models" / "microsoft_calendar_config.py").read_text())[1]
    assert odoo_env["ODOO_BASE_URL"] + callback in app["redirect_uris"]

    sandbox, odoo = compose["services"]["sandbox"], compose["services"]["odoo"]
    # Odoo shares the sandbox's network namespace: one name (localhost) for
    # the browser and for the Odoo server
    assert odoo["network_mode"] == "service:sandbox"
    assert "ports" not in odoo
    published = {p.rsplit(":", 2)[-1]: p for p in sandbox["ports"]}
    login = urlsplit(odoo_env["MCS_LOGIN_URL"])
    assert login.scheme == "https" and login.hostname == "localhost"
    assert str(login.port) in published, "the sandbox's port must be published for the browser"
    assert urlsplit(odoo_env["ODOO_BASE_URL"]).port == 8069 and "8069" in published
    assert odoo_env["MCS_GRAPH_URL"] == odoo_env["MCS_LOGIN_URL"] + "/v1.0"

    # the sandbox's command line is valid for its own parser, listens on the
    # published port, writes its CA where Odoo reads it
    from outlook_sandbox.__main__ import build_parser
    command = sandbox["command"]
    assert command[0] == "outlook-sandbox"
    args = build_parser().parse_args(command[1:])
    assert args.host == "0.0.0.0" and args.port == login.port and args.seed == "demo"
    state_volume = next(v.split(":")[0] for v in sandbox["volumes"] if v.split(":")[1] == args.state_dir)
    ca_mount = next(v.split(":")[1] for v in odoo["volumes"] if v.split(":")[0] == state_volume)
    assert odoo_env["MCS_CA_FILE"] == f"{ca_mount}/sandbox-ca.pem"
    assert Path(ROOT / "outlook_sandbox" / "tls.py").read_text().count('"sandbox-ca.pem"') == 1


def test_database_settings_agree(compose, odoo_env):
    db = compose["services"]["db"]["environment"]
    assert odoo_env["HOST"] == "db"
    assert odoo_env["USER"] == db["POSTGRES_USER"] and odoo_env["PASSWORD"] == db["POSTGRES_PASSWORD"]
    assert compose["services"]["odoo"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_entrypoint_is_executable_valid_bash():
    assert os.access(ENTRYPOINT, os.X_OK), "docker/odoo/entrypoint.sh must be executable (git mode 755)"
    assert ENTRYPOINT.read_text().startswith("#!/bin/bash\n")
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here to check the syntax")
    result = subprocess.run([bash, "-n", str(ENTRYPOINT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # the module it installs is this repository's addon
    assert re.search(r"^MODULE=microsoft_calendar_sync$", ENTRYPOINT.read_text(), re.M)
    assert (ADDON / "__manifest__.py").is_file()


def test_git_records_the_entrypoint_as_executable():
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git work tree")
    out = subprocess.run(["git", "ls-files", "-s", "docker/odoo/entrypoint.sh"], cwd=ROOT,
                         capture_output=True, text=True, check=False).stdout
    if not out:
        pytest.skip("entrypoint.sh not committed yet")
    assert out.startswith("100755 "), out
