"""The production artifacts `evgen new-job` renders: the Dockerfile (parsed with dockerfile-parse)
and the FlinkDeployment manifest (checked against the Flink Kubernetes Operator's CRD fields and
against what evgen and the installed Flink actually provide)."""

from __future__ import annotations

import shlex
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from evgen.cli import cli
from evgen.flinkdist import flink_version, python_jar
from evgen.project import new_job
from evgen.runtime.runner import load_job

JOB = "deploy_job"
USRLIB = f"/opt/flink/usrlib/{JOB}"

_STRING = {"type": "string"}
_RESOURCE = {
    "type": "object", "additionalProperties": False,
    "properties": {"cpu": {"type": "number"}, "memory": _STRING, "ephemeralStorage": _STRING},
}  # fmt: skip
#: The FlinkDeployment (flink.apache.org/v1beta1) fields the manifest uses, as the operator's CRD
#: declares them (flinkConfiguration as the older CRDs' map of strings, which newer ones accept).
FLINK_DEPLOYMENT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "flink.apache.org/v1beta1"},
        "kind": {"const": "FlinkDeployment"},
        "metadata": {"type": "object", "required": ["name"],
                     "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}}},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["image", "flinkVersion", "flinkConfiguration", "jobManager", "taskManager", "job"],
            "properties": {
                "image": _STRING, "imagePullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                "serviceAccount": _STRING, "mode": {"enum": ["native", "standalone"]},
                "flinkVersion": {"enum": ["v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2", "v2_3", "v2_4"]},
                "flinkConfiguration": {"type": "object", "additionalProperties": _STRING},
                "logConfiguration": {"type": "object", "additionalProperties": _STRING},
                "podTemplate": {"type": "object"},
                "jobManager": {"type": "object", "additionalProperties": False, "required": ["resource"],
                               "properties": {"replicas": {"type": "integer", "minimum": 1}, "resource": _RESOURCE,
                                              "podTemplate": {"type": "object"}}},
                "taskManager": {"type": "object", "additionalProperties": False, "required": ["resource"],
                                "properties": {"replicas": {"type": "integer", "minimum": 1}, "resource": _RESOURCE,
                                               "podTemplate": {"type": "object"}}},
                "job": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["jarURI", "entryClass", "args", "parallelism", "upgradeMode"],
                    "properties": {
                        "jarURI": _STRING, "entryClass": _STRING,
                        "args": {"type": "array", "items": _STRING},
                        "parallelism": {"type": "integer", "minimum": 1},
                        "upgradeMode": {"enum": ["last-state", "savepoint", "stateless"]},
                        "state": {"enum": ["running", "suspended"]},
                        "allowNonRestoredState": {"type": "boolean"}, "initialSavepointPath": _STRING,
                    },
                },
            },
        },
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def job_dir(tmp_path_factory: pytest.TempPathFactory, stream_configs_file: Path, primary_schema_repo: Path) -> Path:
    return new_job(
        JOB, source="mediawiki.page_change.v1:1.1.0", sink="mediawiki.page_content_change.v1:1.1.0",
        stream_config=str(stream_configs_file), schema_uris=[str(primary_schema_repo)],
        output_dir=tmp_path_factory.mktemp("deploy"), env={},
    )


@pytest.fixture(scope="module")
def dockerfile(job_dir: Path) -> DockerfileParser:
    return DockerfileParser(path=str(job_dir / "Dockerfile"), env_replace=True)


@pytest.fixture(scope="module")
def manifest(job_dir: Path) -> dict[str, Any]:
    data = yaml.safe_load((job_dir / "deploy" / "flinkdeployment.yaml").read_text())
    assert isinstance(data, dict)
    return data


def instructions(parser: DockerfileParser, name: str) -> list[str]:
    """The values of every ``name`` instruction of the final stage."""
    final_from = max(i for i, item in enumerate(parser.structure) if item["instruction"] == "FROM")
    return [item["value"] for item in parser.structure[final_from:] if item["instruction"] == name]


def test_dockerfile_builds_on_the_official_flink_image_of_evgens_flink(dockerfile: DockerfileParser) -> None:
    assert dockerfile.is_multistage
    assert dockerfile.baseimage == f"flink:{flink_version()}-scala_2.12-java17"
    assert dockerfile.args["FLINK_VERSION"] == flink_version()
    runs = " ".join(instructions(dockerfile, "RUN"))
    # the jar the manifest's jarURI names is copied from the image's opt/, as the distribution has it
    assert "/opt/flink/opt/flink-python-${FLINK_VERSION}.jar /opt/flink/lib/" in runs
    assert python_jar().name == f"flink-python-{dockerfile.args['FLINK_VERSION']}.jar"


def test_dockerfile_installs_python_evgen_the_job_and_its_jars(dockerfile: DockerfileParser, job_dir: Path) -> None:
    runs = instructions(dockerfile, "RUN")
    assert any('uv python install "${PYTHON_VERSION}"' in r and "/usr/local/bin/python3" in r for r in runs)
    install = next(r for r in runs if "uv pip install" in r)
    assert '"${EVGEN_REQUIREMENT}"' in install and f"-r {USRLIB}/pyproject.toml" in install
    deps = shlex.split(install.split("&&")[1])
    assert deps[:3] == ["python3", "-m", "evgen.cli"]
    # a real evgen command with real options
    command = cli.commands[deps[3]]
    assert {opt for p in command.params for opt in p.opts + p.secondary_opts} >= set(deps[4:])
    assert f"COPY --chown=flink:flink . {USRLIB}" in [f"COPY {v}" for v in instructions(dockerfile, "COPY")]
    assert dockerfile.envs["PYTHONPATH"] == USRLIB  # the job package and evgen.lock beside it
    assert dockerfile.envs["EVGEN_CACHE_DIR"] == "/opt/evgen-cache"
    assert instructions(dockerfile, "USER")[-1] == "flink"
    ignored = (job_dir / ".dockerignore").read_text().split()
    assert "out/" in ignored and (job_dir / "pyproject.toml").is_file() and (job_dir / "evgen.lock").is_file()


def test_manifest_has_the_operators_fields(manifest: dict[str, Any]) -> None:
    jsonschema.validate(manifest, FLINK_DEPLOYMENT)
    major, minor = flink_version().split(".")[:2]
    assert manifest["spec"]["flinkVersion"] == f"v{major}_{minor}"
    assert manifest["metadata"]["name"] == "deploy-job"


def test_manifest_runs_the_job_with_pyflinks_driver(manifest: dict[str, Any], job_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    job = manifest["spec"]["job"]
    assert job["jarURI"] == f"local:///opt/flink/opt/{python_jar().name}"
    with zipfile.ZipFile(python_jar()) as jar:  # the entry class is in that jar
        assert job["entryClass"].replace(".", "/") + ".class" in jar.namelist()
    args = job["args"]
    assert args[:2] == ["-pym", JOB] and (job_dir / JOB / "__main__.py").is_file()
    assert job["upgradeMode"] == "savepoint" and job["state"] == "running"
    # the args are ones the job's `python -m` accepts: they load, and agree with spec.job.parallelism
    configs = [args[i + 1] for i, a in enumerate(args) if a == "--config"]
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    assert all(c.startswith(USRLIB + "/") for c in configs)
    env = {e["name"]: e["value"] for e in manifest["spec"]["podTemplate"]["spec"]["containers"][0]["env"]}
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", env["KAFKA_BOOTSTRAP_SERVERS"])
    loaded = load_job(job_dir, [str(job_dir / c.removeprefix(USRLIB + "/")) for c in configs], sets)
    assert loaded.config.flink.parallelism == job["parallelism"]
    assert loaded.config.source.connector == "kafka" and loaded.config.live_status is False
    assert "${KAFKA_BOOTSTRAP_SERVERS" in (job_dir / configs[0].removeprefix(USRLIB + "/")).read_text()


def test_manifest_checkpoints_and_is_ha_ready(manifest: dict[str, Any], dockerfile: DockerfileParser) -> None:
    spec = manifest["spec"]
    conf = spec["flinkConfiguration"]
    assert conf["execution.checkpointing.interval"] == "30s"
    for key in ("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir", "high-availability.storageDir"):
        assert conf[key].startswith("s3://")
    assert conf["high-availability.type"] == "kubernetes"
    assert conf["execution.checkpointing.externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    # the Python the image installs is the one Flink runs
    runs = " ".join(instructions(dockerfile, "RUN"))
    assert conf["python.executable"] == conf["python.client.executable"] == "/usr/local/bin/python3"
    assert "ln -s" in runs and "/usr/local/bin/python3" in runs
    assert int(conf["taskmanager.numberOfTaskSlots"]) >= 1
    container = spec["podTemplate"]["spec"]["containers"][0]
    assert container["name"] == "flink-main-container"  # the name the operator merges into
    plugins = {e["value"] for e in container["env"] if e["name"] == "ENABLE_BUILT_IN_PLUGINS"}
    assert plugins == {f"flink-s3-fs-presto-{flink_version()}.jar"}
    assert spec["jobManager"]["resource"]["memory"].endswith("m") and spec["taskManager"]["resource"]["cpu"] > 0


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "flinkVersion"), "v2_9"),
        (("spec", "job", "upgradeMode"), "savepoints"),
        (("spec", "flinkConfiguration", "taskmanager.numberOfTaskSlots"), 2),
        (("spec", "job", "pythonArgs"), ["-pym"]),
    ],
)
def test_the_crd_schema_rejects_what_the_operator_would(manifest: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    broken = yaml.safe_load(yaml.safe_dump(manifest))
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, FLINK_DEPLOYMENT)
