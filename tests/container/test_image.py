"""The container image (docker/Dockerfile), built by scripts/build-image (podman on a debootstrapped Debian base)
and started as `docker run` would start it, without a container engine (no `podman run` here): the image's file
system mounted read-only, its entrypoint run with chroot as the image's user and environment, in a private mount
namespace holding /proc, a minimal /dev, a tmpfs /tmp and the data volume (a host directory bind-mounted at the
image's VOLUME). The network is the host's, so the image's ports are moved to free ones through the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import psutil
import pyarrow as pa
import pytest
from botocore.config import Config
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/lakebox:test"
PORTS = {"9000": "LAKEBOX_S3_PORT", "8181": "LAKEBOX_CATALOG_PORT", "9001": "LAKEBOX_CONSOLE_PORT",
         "9002": "LAKEBOX_PUBLIC_PORT"}  # fmt: skip
# The packages the wheel ships (pyproject.toml): each must be copied into the image.
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
    "packages"
]
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}

# Runs inside `unshare --mount --propagation private`: every mount below dies with the namespace's last process.
LAUNCH = "\n".join(
    [
        "set -eu",
        "PATH=$PATH:/usr/sbin:/sbin",
        "root=$1 volume=$2 target=$3 user=$4 group=$5 workdir=$6; shift 6",
        'mount -t proc -o nosuid,nodev,noexec proc "$root/proc"',
        'mount -t tmpfs -o nosuid,mode=0755 dev "$root/dev"',
        *(f'mknod -m 0666 "$root/dev/{name}" c {major} {minor}' for name, (major, minor) in DEVICES.items()),
        'mkdir "$root/dev/shm" && mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$root/dev/shm"',
        'mount -t tmpfs -o nosuid,nodev,mode=1777 tmp "$root/tmp"',
        'mount --bind "$volume" "$root$target"',
        'exec chroot --userspec="$user:$group" --groups="$group" "$root" /usr/bin/env -i -C "$workdir" "$@"',
    ]
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@dataclass(frozen=True)
class Image:
    podman: list[str]
    root: Path
    config: dict[str, Any]
    uid: int
    gid: int
    home: str

    @property
    def volume(self) -> str:
        volumes = list(self.config["Volumes"])
        assert len(volumes) == 1, volumes
        return str(volumes[0])

    def argv(self, volume: Path, env: dict[str, str], command: list[str]) -> list[str]:
        """What `docker run -v volume:VOLUME -e env... IMAGE` runs, as root here, for the chroot to drop."""
        image_env = dict(item.split("=", 1) for item in self.config["Env"])
        environment = {"HOME": self.home, **image_env, **env}
        return [
            "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", LAUNCH, "launch",
            str(self.root), str(volume), self.volume, str(self.uid), str(self.gid), self.config["WorkingDir"],
            *(f"{k}={v}" for k, v in environment.items()), *command,
        ]  # fmt: skip


def run(argv: list[str], log: Path, timeout: float) -> None:
    with log.open("wb") as out:
        result = subprocess.run(
            argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    assert result.returncode == 0, f"{argv[0]} failed ({result.returncode}):\n{tail(log)}"


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def mounted(path: Path) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(path) in line]


def passwd_entry(root: Path, user: str) -> tuple[int, int, str]:
    for line in (root / "etc/passwd").read_text().splitlines():
        name, _, uid, gid, _, home, _ = line.split(":")
        if name == user or uid == user:
            return int(uid), int(gid), home
    raise AssertionError(f"user {user!r} is not in the image's /etc/passwd")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    assert os.geteuid() == 0, (
        "building and mounting the image needs root (podman, debootstrap, mount, chroot)"
    )
    logs = tmp_path_factory.mktemp("image")
    run(["scripts/build-image", IMAGE], logs / "build.log", timeout=1500)
    podman = subprocess.run(
        ["scripts/build-image", "--print-podman"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    inspect = subprocess.run([*podman, "image", "inspect", IMAGE], capture_output=True, text=True, check=True)
    config: dict[str, Any] = json.loads(inspect.stdout)[0]["Config"]
    mount = subprocess.run([*podman, "image", "mount", IMAGE], capture_output=True, text=True, check=True)
    root = Path(mount.stdout.strip())
    try:
        uid, gid, home = passwd_entry(root, config["User"])
        yield Image(podman, root, config, uid, gid, home)
    finally:
        subprocess.run([*podman, "image", "unmount", "--force", IMAGE], capture_output=True, check=False)
        assert mounted(root) == [], "the image's file system is still mounted"


@contextmanager
def started(image: Image, volume: Path, env: dict[str, str], log: Path) -> Iterator[psutil.Process]:
    """The image's entrypoint, running until SIGTERM stops it (every process of it gone, every mount with it)."""
    command = [*image.config["Entrypoint"], *(image.config.get("Cmd") or [])]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            image.argv(volume, env, command), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        health = f"http://127.0.0.1:{env['LAKEBOX_CONSOLE_PORT']}/health"
        deadline = time.monotonic() + 180
        while not ready(health):
            assert proc.poll() is None, f"lakebox exited ({proc.returncode}):\n{tail(log)}"
            assert time.monotonic() < deadline, f"lakebox did not become healthy:\n{tail(log)}"
            time.sleep(0.5)
        yield psutil.Process(proc.pid)
        processes = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, tail(log)
        _gone, alive = psutil.wait_procs(processes, timeout=30)
        assert alive == [], f"processes left after SIGTERM: {alive}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert mounted(volume) == [], "the data volume is still mounted"


def ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def in_image(image: Image, volume: Path, env: dict[str, str], *args: str) -> Any:
    """`docker exec CONTAINER lakebox ARGS --json`: the image's CLI, as the image's user, against the server."""
    argv = image.argv(volume, env, ["lakebox", *args, "--json"])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def identities_of(image: Image, processes: list[psutil.Process]) -> set[tuple[Any, ...]]:
    out: set[tuple[Any, ...]] = set()
    for p in processes:
        groups = next(
            line
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines()
            if line.startswith("Groups:")
        )
        out.add((*p.uids(), *p.gids(), tuple(groups.split(":", 1)[1].split())))
    return out


def test_image_declares_what_docker_users_rely_on(image: Image) -> None:
    config = image.config
    assert image.uid != 0
    assert image.gid != 0
    assert config["User"] == "lakebox"
    assert set(config["ExposedPorts"]) == {f"{port}/tcp" for port in PORTS}
    assert image.volume == "/data"
    assert "LAKEBOX_DATA_DIR=/data" in config["Env"]
    assert config["Entrypoint"] == ["lakebox", "serve", "--host", "0.0.0.0"]
    # The virtualenv runs where it was made: its scripts name its own interpreter, which resolves in the image.
    lakebox_script = image.root / "opt/lakebox/bin/lakebox"
    assert lakebox_script.read_text().splitlines()[0] == "#!/opt/lakebox/bin/python"
    interpreter = os.readlink(image.root / "opt/lakebox/bin/python")
    assert (image.root / interpreter.lstrip("/")).exists(), interpreter
    assert not (image.root / "src").exists()
    # The image's uv is the one scripts/bootstrap pins, for docker builds too.
    pinned = (ROOT / "scripts/bootstrap").read_text().split("UV_VERSION=", 1)[1].split()[0]
    assert f"ARG UV_VERSION={pinned}\n" in (ROOT / "docker/Dockerfile").read_text()
    assert not (image.root / "opt/uv").exists()


def test_image_holds_this_checkouts_code(image: Image) -> None:
    """The layer cache never serves an older lakebox: every module is the one in the working tree."""
    site_packages = next((image.root / "opt/lakebox/lib").glob("python3.*/site-packages"))
    sources = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    assert len(sources) > 50
    stale = [
        str(p.relative_to(ROOT)) for p in sources if not same_bytes(p, site_packages / p.relative_to(ROOT))
    ]
    assert stale == []


def same_bytes(source: Path, installed: Path) -> bool:
    return installed.is_file() and installed.read_bytes() == source.read_bytes()


def test_image_serves_s3_catalog_console_and_public_as_its_user_on_a_volume(
    image: Image, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir(mode=0o700)
    os.chown(volume, image.uid, image.gid)
    env = {name: str(free_port()) for name in PORTS.values()} | {"LAKEBOX_WORKERS": "2"}
    s3_url, catalog_url = (
        f"http://127.0.0.1:{env[name]}" for name in ("LAKEBOX_S3_PORT", "LAKEBOX_CATALOG_PORT")
    )

    with started(image, volume, env, tmp_path / "first.log") as supervisor:
        processes = [supervisor, *supervisor.children(recursive=True)]
        assert len(processes) >= 3, processes  # the supervisor and its two workers
        pids = {p.pid for p in processes}
        listening = {
            c.laddr.port: c.laddr.ip
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.pid in pids
        }
        assert listening == {int(env[name]): "0.0.0.0" for name in PORTS.values()}
        assert identities_of(image, processes) == {(image.uid,) * 3 + (image.gid,) * 3 + ((str(image.gid),),)}

        creds_file = volume / "root-credentials.json"
        creds = json.loads(creds_file.read_text())
        s3 = s3_client(s3_url, creds)
        s3.create_bucket(Bucket="lake")
        s3.put_object(Bucket="lake", Key="hello.txt", Body=b"hello from the image")
        assert s3.get_object(Bucket="lake", Key="hello.txt")["Body"].read() == b"hello from the image"

        assert in_image(image, volume, env, "bucket", "catalog", "enable", "lake")["enabled"] is True
        public = in_image(image, volume, env, "bucket", "dev-url", "enable", "lake", "--force")
        assert public["enabled"] is True
        assert f":{env['LAKEBOX_PUBLIC_PORT']}/" in public["url"]

        config = httpx.get(
            f"{catalog_url}/v1/config", params={"warehouse": "lake"},
            headers={"authorization": f"Bearer {creds['token']}"}, timeout=30,
        )  # fmt: skip
        assert config.status_code == 200, config.text
        catalog = RestCatalog("lake", uri=catalog_url, warehouse="lake", token=creds["token"])
        catalog.create_namespace("image")
        schema = Schema(NestedField(1, "id", LongType()), NestedField(2, "name", StringType()))
        table = catalog.create_table("image.rows", schema)
        table.append(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]}))
        assert catalog.load_table("image.rows").scan().to_arrow().num_rows == 3

        anonymous = httpx.get(f"{public['url']}/hello.txt", timeout=30)
        assert (anonymous.status_code, anonymous.content) == (200, b"hello from the image")

        console = f"http://127.0.0.1:{env['LAKEBOX_CONSOLE_PORT']}"
        assert httpx.get(f"{console}/health", timeout=30).json()
        assert "lakebox_requests_total" in httpx.get(f"{console}/metrics", timeout=30).text

    # Everything lakebox wrote is on the volume, owned by the image's user, the credentials readable by it alone.
    written = [volume, *volume.rglob("*")]
    assert {p.lstat().st_uid for p in written} == {image.uid}
    assert creds_file.stat().st_mode & 0o777 == 0o600

    # A new container on the same volume serves what the first one stored.
    with started(image, volume, env, tmp_path / "second.log"):
        assert s3_client(s3_url, creds).get_object(Bucket="lake", Key="hello.txt")["Body"].read() == (
            b"hello from the image"
        )
        again = RestCatalog("lake", uri=catalog_url, warehouse="lake", token=creds["token"])
        assert again.load_table("image.rows").scan().to_arrow().column("name").to_pylist() == ["a", "b", "c"]


def s3_client(url: str, creds: dict[str, str]) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name="auto", aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        config=Config(retries={"max_attempts": 1}, connect_timeout=30, read_timeout=120),
    )  # fmt: skip
