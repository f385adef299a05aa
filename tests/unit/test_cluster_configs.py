"""The cluster configs in cluster-configs/: Ray accepts them, the `tether` and `ray` command lines
they run parse against the real CLIs, secrets and databases stay out of them, and every machine
preset has a node type that can host it."""

from __future__ import annotations

import copy
import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml

from tether.cli.main import app
from tether.machines import PRESETS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "cluster-configs"
RAY_UP = ("aws", "gcp", "local")
CLOUDS = ("aws", "gcp")  # the ray up configs with node types the autoscaler starts
ENV_FILE = "cluster-configs/tether.env"  # the secrets, as the configs name them (relative to the project)
GATEWAY_PORT = 8030
# typer raises its own click's errors; BadParameter's base is that click's UsageError.
USAGE_ERROR = typer.BadParameter.__base__
_NOT_A_DATABASE = re.compile(r"\b(postgres|postmaster|pg_ctl|pg_ctlcluster|initdb)\b", re.IGNORECASE)


def ray_up_config(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())


def kuberay() -> dict[str, Any]:
    return yaml.safe_load((CONFIGS / "kuberay.yaml").read_text())


def env_example() -> dict[str, str]:
    lines = (CONFIGS / "tether.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def readme() -> str:
    return (CONFIGS / "README.md").read_text()


def prepared(config: dict[str, Any]) -> dict[str, Any]:
    """What `ray up` checks before it talks to a cloud: defaults filled in, then Ray's schema and rules."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(copy.deepcopy(config))
    validate_config(config)
    return config


# -- shell command lines -------------------------------------------------------------------------

_OPERATOR_CHARS = set("();<>|&")
_PREFIXES = {"nohup", "exec", "then", "do", "else", "{", "time"}  # words after which a command starts


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _is_operator(word: str) -> bool:
    return all(char in _OPERATOR_CHARS for char in word)


@dataclass(frozen=True)
class Invocation:
    """One run of a program found in a shell line: its arguments and the folder it runs in."""

    argv: tuple[str, ...]
    cwd: str | None
    words_before: tuple[str, ...]  # the line's words before it (what ran first)


def invocations(line: str, program: str) -> list[Invocation]:
    """Each place `program` runs as a command in `line`, including inside `bash -c '…'`."""
    words = _words(line)
    found: list[Invocation] = []
    cwd = None
    for i, word in enumerate(words):
        if not (i == 0 or _is_operator(words[i - 1]) or words[i - 1] in _PREFIXES):
            continue
        rest = words[i + 1 :]
        if word == "cd" and rest:
            cwd = rest[0]
        if Path(word).name in ("bash", "sh") and len(rest) >= 2 and rest[0] in ("-c", "-lc"):
            found += invocations(rest[1], program)
        if word == program or word.endswith("/" + program):
            argv = tuple(itertools.takewhile(lambda w: not _is_operator(w) and w != "}", rest))
            found.append(Invocation(argv, cwd, tuple(words[:i])))
    return found


def ray_up_commands(config: dict[str, Any]) -> dict[str, list[str]]:
    """Every shell line `ray up` and the autoscaler run, on the head and on the workers."""
    node_types = config.get("available_node_types", {})
    head_type = node_types.get(config.get("head_node_type"), {})
    workers = [t for name, t in node_types.items() if name != config.get("head_node_type")]
    common = config.get("initialization_commands", []) + config.get("setup_commands", [])
    return {
        "head": common
        + head_type.get("initialization_commands", [])
        + config.get("head_setup_commands", [])
        + config.get("head_start_ray_commands", []),
        "workers": common
        + [c for t in workers for c in t.get("initialization_commands", []) + t.get("worker_setup_commands", [])]
        + config.get("worker_setup_commands", [])
        + config.get("worker_start_ray_commands", []),
    }


def pod_commands(template: dict[str, Any]) -> list[str]:
    """Every shell line a pod runs: containers' command and args (KubeRay joins them into one
    `bash -lc` line before `ray start`), and lifecycle hooks."""
    spec = template["spec"]
    lines = []
    for container in spec.get("initContainers", []) + spec["containers"]:
        lines.append(" ".join(container.get("command", []) + container.get("args", [])))
        for hook in container.get("lifecycle", {}).values():
            if "exec" in hook:
                lines.append(shlex.join(hook["exec"]["command"]))
    return [line for line in lines if line.strip()]


def kuberay_commands(doc: dict[str, Any]) -> dict[str, list[str]]:
    spec = doc["spec"]
    return {
        "head": pod_commands(spec["headGroupSpec"]["template"]),
        "workers": [line for group in spec.get("workerGroupSpecs", []) for line in pod_commands(group["template"])],
    }


def commands_of(name: str) -> dict[str, list[str]]:
    return kuberay_commands(kuberay()) if name == "kuberay" else ray_up_commands(ray_up_config(name))


def tether_runs(lines: list[str]) -> list[Invocation]:
    return [run for line in lines for run in invocations(line, "tether")]


# -- the real CLIs --------------------------------------------------------------------------------


def _resolve(group: Any, argv: list[str]) -> tuple[Any, str, list[str]]:
    command, name = group, argv[0] if argv else ""
    while hasattr(command, "commands") and argv and argv[0] in command.commands:
        name = argv.pop(0)
        command = command.commands[name]
    assert not hasattr(command, "commands"), f"{' '.join(argv)!r} names no command of {group.name!r}"
    return command, name, argv


def parse_tether(argv: tuple[str, ...], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Parse a `tether …` command line as the CLI would, in an environment holding only `env`
    among the variables the CLI reads: a flag the CLI lacks, or a required value neither given
    nor in the environment, fails."""
    cli = typer.main.get_command(app)
    command, name, args = _resolve(cli, list(argv))
    for param in command.params:
        for var in [param.envvar] if isinstance(param.envvar, str) else param.envvar or []:
            monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    return command.make_context(name, args, resilient_parsing=False).params


def parse_ray(argv: list[str]) -> dict[str, Any]:
    from ray.scripts.scripts import cli

    command, name, args = _resolve(cli, list(argv))
    return command.make_context(name, args, resilient_parsing=False).params


def the_tether_start(name: str) -> Invocation:
    [start] = [run for run in tether_runs(commands_of(name)["head"]) if run.argv[:1] == ("start",)]
    return start


# -- resources --------------------------------------------------------------------------------------


def preset_needs(preset: str) -> dict[str, float]:
    """The Ray resources a run's actor asks for, by the preset's own `ray_options`."""
    options = PRESETS[preset].ray_options()
    return {"CPU": float(options["num_cpus"]), "memory": float(options["memory"]), "GPU": float(options.get("num_gpus", 0))}


def fits(needs: dict[str, float], offers: dict[str, float]) -> bool:
    return all(amount <= offers.get(name, 0) for name, amount in needs.items() if amount)


def quantity(value: str | int) -> float:
    """A Kubernetes quantity: 8, "500m", "32Gi", "8G"."""
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()
    scale = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return float(number) * scale[unit]


def cloud_worker_types(name: str) -> dict[str, dict[str, Any]]:
    config = ray_up_config(name)
    return {k: v for k, v in config["available_node_types"].items() if k != config["head_node_type"]}


def kuberay_worker_groups() -> dict[str, dict[str, Any]]:
    groups = {}
    for group in kuberay()["spec"]["workerGroupSpecs"]:
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        resources = {
            "CPU": quantity(limits["cpu"]),
            "memory": quantity(limits["memory"]),
            "GPU": quantity(limits.get("nvidia.com/gpu", 0)),
        }
        groups[group["groupName"]] = {
            "resources": resources,
            "min_workers": group["minReplicas"],
            "max_workers": group["maxReplicas"],
        }
    return groups


def worker_types(name: str) -> dict[str, dict[str, Any]]:
    return kuberay_worker_groups() if name == "kuberay" else cloud_worker_types(name)


# -- Ray accepts the ray up configs -----------------------------------------------------------------


@pytest.mark.parametrize("name", RAY_UP)
def test_ray_accepts_the_config(name: str) -> None:
    prepared(ray_up_config(name))


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda c: c["available_node_types"]["cpu"].update(min_worker=1), id="misspelt-field"),
        pytest.param(lambda c: c["available_node_types"]["gpu_1x"]["resources"].update(memory="18Gi"), id="memory-not-in-bytes"),
        pytest.param(lambda c: c.update(head_node_type="gpu"), id="unknown-head-type"),
    ],
)
def test_ray_rejects_a_broken_config(breakage: Any) -> None:
    config = ray_up_config("aws")
    breakage(config)
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        prepared(config)


@pytest.mark.parametrize("name", RAY_UP)
def test_every_ray_command_parses_against_rays_cli(name: str) -> None:
    commands = ray_up_commands(prepared(ray_up_config(name)))
    runs = [run for line in commands["head"] + commands["workers"] for run in invocations(line, "ray")]
    assert any(run.argv[:1] == ("start",) and "--head" in run.argv for run in runs)
    for run in runs:
        parse_ray(list(run.argv))


# -- the head starts Tether with flags the CLI has ---------------------------------------------------


def _start_env(name: str) -> dict[str, str]:
    """The variables `tether start` finds: tether.env (sourced on the head, or a Secret made from
    it), and on KubeRay the head container's own `env`."""
    env = env_example()
    if name == "kuberay":
        head = kuberay()["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
        env |= {item["name"]: item.get("value", "") for item in head.get("env", [])}
    return env


@pytest.mark.parametrize("name", [*RAY_UP, "kuberay"])
def test_every_tether_command_parses_against_the_cli(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    commands = commands_of(name)
    runs = tether_runs(commands["head"])
    assert [run.argv[0] for run in runs] == ["start"], "the head runs `tether start` once"
    assert not tether_runs(commands["workers"]), "only the head runs Tether's gateway and Scheduler"
    env = _start_env(name)
    for run in runs:
        referenced = {var for arg in run.argv for var in re.findall(r"\$\{?(\w+)", arg)}
        assert referenced <= set(env), f"{run.argv} uses variables tether.env does not define: {referenced - set(env)}"
        params = parse_tether(run.argv, env, monkeypatch)
        assert params["ray_address"] == "auto"
        assert params["environment"] == "prod"
        assert params["port"] == GATEWAY_PORT
        assert params["host"] == "0.0.0.0"


def test_a_misspelt_flag_fails_to_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = tuple("--ray-adress" if arg == "--ray-address" else arg for arg in the_tether_start("aws").argv)
    with pytest.raises(USAGE_ERROR, match="No such option"):
        parse_tether(argv, env_example(), monkeypatch)


def test_a_secret_missing_from_the_env_file_fails_to_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in env_example().items() if k != "TETHER_SECRET_KEY"}
    with pytest.raises(USAGE_ERROR, match="secret.key"):
        parse_tether(the_tether_start("aws").argv, env, monkeypatch)


def test_the_readme_commands_parse_against_the_clis(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        line.strip()
        for block in re.findall(r"```bash\n(.*?)```", readme(), re.S)
        for line in block.replace("\\\n", " ").splitlines()
    ]
    lines += re.findall(r"`(ray [\w-]+ cluster-configs/[^`]+)`", readme())  # inline commands, not mentions of `ray up`
    ray_lines = [shlex.split(line, comments=True) for line in lines if line.startswith("ray ")]
    tether_lines = [shlex.split(line, comments=True) for line in lines if line.startswith("tether ")]
    assert {argv[1] for argv in ray_lines} >= {"up", "attach", "exec", "down", "monitor"}
    assert {argv[1] for argv in tether_lines} >= {"start", "status"}
    for argv in ray_lines:
        parse_ray(argv[1:])
        assert all((ROOT / arg).is_file() for arg in argv if arg.endswith(".yaml"))
    for argv in tether_lines:
        parse_tether(tuple(argv[1:]), env_example(), monkeypatch)


# -- the project, Tether and the secrets reach the nodes ---------------------------------------------


@pytest.mark.parametrize("name", RAY_UP)
def test_tether_starts_in_the_project_synced_to_every_node(name: str) -> None:
    mounts = ray_up_config(name)["file_mounts"]
    start = the_tether_start(name)
    assert mounts.get(start.cwd) == ".", "tether start runs in the project folder ray up copies to every node"


def test_kuberay_starts_tether_in_the_images_project_folder() -> None:
    workdirs = re.findall(r"^WORKDIR\s+(\S+)", (CONFIGS / "Dockerfile").read_text(), re.M)
    assert the_tether_start("kuberay").cwd == workdirs[-1]


@pytest.mark.parametrize("name", RAY_UP)
def test_every_node_installs_tether_from_one_marked_place(name: str) -> None:
    config = ray_up_config(name)
    installs = [line for line in config["setup_commands"] if "pip install" in line and "tether" in line]
    assert len(installs) == 1, "setup_commands (run on every node) install Tether in one line"
    target = shlex.split(installs[0])[-1]
    if target.startswith(("~", "/")):  # a file that travels with a file mount
        assert any(target.startswith(remote.rstrip("/") + "/") for remote in config["file_mounts"])
    text = (CONFIGS / f"{name}.yaml").read_text()
    assert "CHANGE ME: where pip gets Tether" in text


def test_the_image_installs_tether_and_the_project() -> None:
    dockerfile = (CONFIGS / "Dockerfile").read_text()
    assert re.search(r"^RUN pip install .*tether", dockerfile, re.M)
    assert re.search(r"^COPY .*\s\.\s*$", dockerfile, re.M)
    assert "CHANGE ME: where pip gets Tether" in dockerfile


@pytest.mark.parametrize("name", RAY_UP)
def test_the_head_reads_the_secrets_from_the_mounted_env_file(name: str) -> None:
    config = ray_up_config(name)
    [remote] = [remote for remote, local in config["file_mounts"].items() if local == ENV_FILE]
    assert (ROOT / f"{ENV_FILE}.example").is_file()
    before = the_tether_start(name).words_before
    assert any(before[i] in (".", "source") and before[i + 1] == remote for i in range(len(before) - 1)), (
        "sourced before tether start"
    )
    assert "set" in before and "-a" in before, "set -a exports what the file sets"
    assert f"/{ENV_FILE}" in config["rsync_exclude"], "the project's copy leaves the secrets out"


def test_kuberay_reads_the_secrets_from_a_secret_made_from_the_env_file() -> None:
    head = kuberay()["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    [secret] = [source["secretRef"]["name"] for source in head["envFrom"] if "secretRef" in source]
    assert f"kubectl create secret generic {secret} --from-env-file={ENV_FILE}" in readme()


def test_the_secrets_stay_out_of_git_and_the_image() -> None:
    assert "tether.env" in (CONFIGS / ".gitignore").read_text().split()
    assert ENV_FILE in (CONFIGS / "Dockerfile.dockerignore").read_text().split()


@pytest.mark.parametrize("name", [*RAY_UP, "kuberay"])
def test_no_secret_is_written_in_a_config(name: str) -> None:
    text = (CONFIGS / f"{name}.yaml").read_text()
    assert not re.search(r"postgres(ql)?(\+\w+)?://", text)
    assert not re.search(r"\btt_\w+_\w+", text)
    for var in env_example():
        assert f"{var}=" not in text and f"{var}:" not in text


def test_kuberay_sets_no_secret_by_value() -> None:
    spec = kuberay()["spec"]
    templates = [spec["headGroupSpec"]["template"]] + [group["template"] for group in spec["workerGroupSpecs"]]
    for template in templates:
        for container in template["spec"]["containers"]:
            for item in container.get("env", []):
                assert item["name"] not in env_example() or "valueFrom" in item, item["name"]


# -- no database on a Ray node ---------------------------------------------------------------------


def _images(name: str) -> list[str]:
    if name == "kuberay":
        spec = kuberay()["spec"]
        templates = [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]
        return [c["image"] for t in templates for c in t["spec"].get("initContainers", []) + t["spec"]["containers"]]
    config = ray_up_config(name)
    dockers = [config.get("docker", {})] + [t.get("docker", {}) for t in config.get("available_node_types", {}).values()]
    return [d[key] for d in dockers for key in ("image", "head_image", "worker_image") if d.get(key)]


@pytest.mark.parametrize("name", [*RAY_UP, "kuberay"])
def test_no_config_runs_a_database(name: str) -> None:
    commands = commands_of(name)
    for line in commands["head"] + commands["workers"]:
        assert not _NOT_A_DATABASE.search(line), line
    for image in _images(name):
        assert "postgres" not in image.lower(), image


def test_the_image_installs_no_database() -> None:
    instructions = [
        line for line in (CONFIGS / "Dockerfile").read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert not any("postgres" in line.lower() for line in instructions)


def test_the_example_database_is_not_on_the_cluster() -> None:
    host = re.search(r"@([^:/]+)", env_example()["TETHER_DATABASE_URL"]).group(1)
    assert host not in ("localhost", "127.0.0.1", "::1", "0.0.0.0")


# -- the head, the gateway's port, the worker types ----------------------------------------------


def test_the_head_offers_no_cpu_to_runs() -> None:
    for name in CLOUDS:
        config = ray_up_config(name)
        assert config["available_node_types"][config["head_node_type"]]["resources"]["CPU"] == 0
    # The local provider passes no resources to `ray start`: the flag says it.
    starts = [run for line in ray_up_commands(ray_up_config("local"))["head"] for run in invocations(line, "ray")]
    [head] = [run for run in starts if "--head" in run.argv]
    assert parse_ray(list(head.argv))["num_cpus"] == 0
    assert kuberay()["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_the_gateway_port_is_reachable() -> None:
    [rule] = ray_up_config("aws")["provider"]["security_group"]["IpPermissions"]
    assert rule["FromPort"] <= GATEWAY_PORT <= rule["ToPort"] and rule["IpProtocol"] == "tcp"
    gcp = ray_up_config("gcp")
    tags = gcp["available_node_types"][gcp["head_node_type"]]["node_config"]["tags"]["items"]
    assert any(
        f"--allow tcp:{GATEWAY_PORT}" in line and f"--target-tags {tag}" in line
        for tag in tags
        for line in readme().replace("\\\n", " ").splitlines()
    )
    doc = kuberay()
    head = doc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert GATEWAY_PORT in [port["containerPort"] for port in head["ports"]]
    assert f"kubectl port-forward svc/{doc['metadata']['name']}-head-svc {GATEWAY_PORT}:{GATEWAY_PORT}" in readme()


@pytest.mark.parametrize("name", [*CLOUDS, "kuberay"])
def test_every_preset_has_a_worker_type_that_fits_it(name: str) -> None:
    types = worker_types(name)
    for preset in PRESETS:
        needs = preset_needs(preset)
        hosts = [t for t in types.values() if fits(needs, t["resources"])]
        assert hosts, f"no worker type of {name} can host a {preset} run"
        if not needs["GPU"]:
            assert any(not t["resources"].get("GPU") for t in hosts), f"a {preset} run would need a GPU node"


@pytest.mark.parametrize("name", [*CLOUDS, "kuberay"])
def test_worker_types_scale_within_bounds_and_gpus_from_zero(name: str) -> None:
    types = worker_types(name)
    for worker in types.values():
        assert 0 <= worker["min_workers"] <= worker["max_workers"]
    gpu_1x = [t for t in types.values() if fits(preset_needs("gpu-1x"), t["resources"])]
    assert gpu_1x and all(t["min_workers"] == 0 and t["max_workers"] >= 1 for t in gpu_1x)
    if name != "kuberay":
        config = ray_up_config(name)
        assert sum(t["min_workers"] for t in types.values()) <= config["max_workers"]
        assert config["idle_timeout_minutes"] > 0


def test_the_local_cluster_keeps_every_listed_machine() -> None:
    config = ray_up_config("local")
    assert config["min_workers"] == config["max_workers"] == len(config["provider"]["worker_ips"])


# -- the KubeRay manifest ---------------------------------------------------------------------------

# The parts of KubeRay's RayCluster CRD (ray.io/v1) this manifest uses. The CRD itself is some
# 700 KB of generated OpenAPI (most of it Kubernetes' pod spec), too much to vendor for this.
_INT32 = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_QUANTITY = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[0-9.]+(m|k|[KMGTPE]i?)?$"}]}
_CONTAINER = {
    "type": "object",
    "required": ["name", "image"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "image": {"type": "string"},
        "command": {"type": "array", "items": {"type": "string"}},
        "args": {"type": "array", "items": {"type": "string"}},
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["containerPort"],
                "properties": {"containerPort": {"type": "integer"}, "name": {"type": "string", "maxLength": 15}},
            },
        },
        "envFrom": {"type": "array", "items": {"type": "object"}},
        "resources": {
            "type": "object",
            "properties": {
                "limits": {"type": "object", "additionalProperties": _QUANTITY},
                "requests": {"type": "object", "additionalProperties": _QUANTITY},
            },
        },
    },
}
_POD_TEMPLATE = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "spec": {
            "type": "object",
            "required": ["containers"],
            "properties": {"containers": {"type": "array", "minItems": 1, "items": _CONTAINER}, "tolerations": {"type": "array"}},
        }
    },
}
_START_PARAMS = {"type": "object", "additionalProperties": {"type": "string"}}  # strings, even numbers
RAYCLUSTER = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayCluster"},
        "metadata": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "spec": {
            "type": "object",
            "required": ["headGroupSpec", "workerGroupSpecs"],
            "properties": {
                "rayVersion": {"type": "string"},
                "enableInTreeAutoscaling": {"type": "boolean"},
                "autoscalerOptions": {
                    "type": "object",
                    "properties": {
                        "upscalingMode": {"enum": ["Default", "Aggressive", "Conservative"]},
                        "idleTimeoutSeconds": _INT32,
                    },
                },
                "headGroupSpec": {
                    "type": "object",
                    "required": ["template"],
                    "properties": {
                        "serviceType": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                        "rayStartParams": _START_PARAMS,
                        "template": _POD_TEMPLATE,
                    },
                },
                "workerGroupSpecs": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["groupName", "template", "minReplicas", "maxReplicas"],
                        "properties": {
                            "groupName": {"type": "string"},
                            "replicas": _INT32,
                            "minReplicas": _INT32,
                            "maxReplicas": _INT32,
                            "rayStartParams": _START_PARAMS,
                            "template": _POD_TEMPLATE,
                        },
                    },
                },
            },
        },
    },
}


def test_the_kuberay_manifest_is_a_raycluster() -> None:
    jsonschema.validate(kuberay(), RAYCLUSTER)


def test_the_raycluster_check_catches_a_numeric_start_param() -> None:
    doc = kuberay()
    doc["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, RAYCLUSTER)


def test_kuberay_autoscales_every_worker_group_within_its_bounds() -> None:
    spec = kuberay()["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] > 0
    for group in spec["workerGroupSpecs"]:
        assert group["minReplicas"] <= group.get("replicas", group["minReplicas"]) <= group["maxReplicas"], group["groupName"]


def test_kuberay_starts_tether_in_the_ray_container_of_the_head() -> None:
    # KubeRay runs a container's command before `ray start` only in the Ray container (the first).
    containers = kuberay()["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    assert tether_runs(pod_commands({"spec": {"containers": containers[:1]}}))


# -- one Ray version throughout -------------------------------------------------------------------


def test_every_file_names_the_same_ray_version_and_python_3_11() -> None:
    images = [image for name in CLOUDS for image in _images(name)]
    images += re.findall(r"^ARG RAY_IMAGE=(\S+)", (CONFIGS / "Dockerfile").read_text(), re.M)
    images += re.findall(r"RAY_IMAGE=(\S+)", readme())
    tags = [re.fullmatch(r"rayproject/ray:(\d+\.\d+\.\d+)-py311(-gpu)?", image) for image in images]
    assert all(tags), images
    versions = {tag.group(1) for tag in tags}
    versions |= set(re.findall(r"ray\[default\]==([\d.]+)", "\n".join(ray_up_config("local")["setup_commands"])))
    versions.add(kuberay()["spec"]["rayVersion"])
    assert len(versions) == 1, versions


@pytest.mark.parametrize("name", CLOUDS)
def test_gpu_worker_types_run_the_gpu_image(name: str) -> None:
    for worker in cloud_worker_types(name).values():
        image = worker.get("docker", {}).get("worker_image") or ray_up_config(name)["docker"]["image"]
        assert image.endswith("-gpu") == bool(worker["resources"].get("GPU")), image
