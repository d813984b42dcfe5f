"""docker-compose.yml and its Dockerfile agree with the app (no Docker engine needed).

The file is parsed, not run: services, ports, volumes and the health check must
match the port the app serves, the data directory it reads, and a route it has.
The health check's own command is then run against a live server.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from service.settings import ENV_DATA_DIR
from search_api.settings import DEFAULT_PORT
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def service(compose) -> dict:
    by_default = [name for name, spec in compose["services"].items() if not spec.get("profiles")]
    assert by_default == ["rsclip"]  # `docker compose up` alone: one container, SQLite in /data
    return compose["services"]["rsclip"] | {"_volumes": compose.get("volumes", {})}


def _scale(compose) -> dict:
    return {name: spec for name, spec in compose["services"].items() if "scale" in spec.get("profiles", [])}


def test_scale_profile_runs_postgres_two_api_replicas_and_a_ray_head(compose):
    scale = _scale(compose)
    assert set(scale) == {"postgres", "api-1", "api-2", "ray-head"}
    assert scale["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in scale["postgres"]["healthcheck"]["test"]
    assert scale["ray-head"]["image"].startswith("rayproject/ray:")
    assert scale["ray-head"]["command"][:3] == ["ray", "start", "--head"]


def test_replicas_share_the_catalog_and_the_data_volume_and_are_published_on_distinct_ports(compose, service):
    from sqlalchemy.engine import make_url

    from service.settings import ENV_DATABASE_URL
    from storage.catalog import normalized_url

    scale, volumes = _scale(compose), compose["volumes"]
    database = scale["postgres"]["environment"]
    replicas = [scale["api-1"], scale["api-2"]]
    for replica in replicas:
        assert replica["image"] == service["image"] and replica["command"] == service["command"]
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        url = make_url(normalized_url(replica["environment"][ENV_DATABASE_URL]))
        assert (url.drivername, url.host, url.username, url.database) == (
            "postgresql+psycopg", "postgres", database["POSTGRES_USER"], database["POSTGRES_DB"]
        )
        assert url.password == database["POSTGRES_PASSWORD"]  # the same ${RSCLIP_DB_PASSWORD:-...} on both sides
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in replica["volumes"]}
        assert mounts[replica["environment"][ENV_DATA_DIR]] == "rsclip-data" and "rsclip-data" in volumes
    assert replicas[0]["environment"] == replicas[1]["environment"]
    host_ports = [replica["ports"][0].rsplit(":", 1)[0] for replica in replicas]
    assert len(set(host_ports)) == 2 and all(port.startswith("127.0.0.1:") for port in host_ports)
    assert all(replica["ports"][0].endswith(f":{DEFAULT_PORT}") for replica in replicas)
    catalog_volume = next(v.split(":")[0] for v in scale["postgres"]["volumes"] if v.endswith("/var/lib/postgresql/data"))
    assert catalog_volume in volumes


def test_the_image_can_reach_a_postgresql_catalog(dockerfile):
    assert "pip install .[postgres]" in dockerfile


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (REPO_ROOT / "Dockerfile").read_text()


def test_compose_builds_the_repository_dockerfile(service, dockerfile):
    assert service["build"] == "."
    assert dockerfile.startswith("#") and "\nFROM python:" in dockerfile
    for package in ("encoder", "storage", "indexer", "rsclip", "search_api"):
        assert f"COPY {package} ./{package}" in dockerfile, package


def test_image_installs_the_cpu_build_of_torch_before_the_package(dockerfile):
    torch_line = dockerfile.index("download.pytorch.org/whl/cpu")
    assert torch_line < dockerfile.index("pip install .")


def test_compose_serves_the_api_on_every_interface_of_the_container_at_the_default_port(service):
    command = service["command"]
    assert command[:2] == ["rsclip", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert int(command[command.index("--port") + 1]) == DEFAULT_PORT
    assert service["ports"] == [f"127.0.0.1:{DEFAULT_PORT}:{DEFAULT_PORT}"]


def test_data_directory_and_model_cache_are_on_named_volumes(service):
    environment = service["environment"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
    assert mounts[environment[ENV_DATA_DIR]] in service["_volumes"]
    assert mounts[environment["HF_HOME"]] in service["_volumes"]
    assert any(volume.endswith(":/images:ro") for volume in service["volumes"])


def test_health_check_calls_the_apps_health_route(service, dockerfile, client):
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert f"http://127.0.0.1:{DEFAULT_PORT}/health" in test[-1]
    assert client.get("/health").status_code == 200
    assert test[-1] in dockerfile  # the image's own HEALTHCHECK is the same command


def test_health_check_command_succeeds_against_a_live_server_and_fails_without_one(service, live_server):
    command = service["healthcheck"]["test"][1:]
    assert command[:2] == ["python", "-c"]
    port = live_server.url.rsplit(":", 1)[1]
    probe = command[2].replace(f":{DEFAULT_PORT}/", f":{port}/")
    assert subprocess.run([sys.executable, "-c", probe], check=False, timeout=30).returncode == 0
    dead = command[2].replace(f":{DEFAULT_PORT}/", ":9/")  # the discard port: nothing listens
    assert subprocess.run([sys.executable, "-c", dead], check=False, capture_output=True, timeout=30).returncode != 0
