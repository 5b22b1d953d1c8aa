"""Runs the service: binds the three listeners, prepares the data directory, then serves with N workers.

The parent binds every socket and imports everything before it forks the workers, so all workers accept on the
same ports and start in milliseconds (uvicorn's own supervisor spawns fresh interpreters, which costs a full
import per worker). The parent restarts a worker that dies and passes SIGTERM/SIGINT on to all of them; the
workers follow the parent if it dies (lakebox.supervision). Connection limits: lakebox.http_limits.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import signal
import socket
import sys
import time

import uvicorn

from lakebox.app import SETTINGS_ENV, settings_to_env
from lakebox.bootstrap import installation_account_id, prepare
from lakebox.http_limits import guarded_protocol
from lakebox.memory import tune_malloc
from lakebox.metrics import metrics_dir, reset_dir
from lakebox.settings import Settings
from lakebox.supervision import ParentWatch, StartupError, bind

log = logging.getLogger("lakebox")


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        "lakebox.app:create_app",
        factory=True,
        http=guarded_protocol(settings),
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level,
        workers=settings.workers,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        timeout_keep_alive=settings.keep_alive_timeout,
        server_header=False,
        # X-Forwarded-* only from the proxies named (the middleware costs ~25 us a request, so it is off otherwise)
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        date_header=True,
        h11_max_incomplete_event_size=64 * 1024,
    )


def serve(settings: Settings) -> None:
    # Everything lakebox creates (database, WAL, blobs, credentials, metrics) is private to its user: 0600/0700.
    os.umask(0o077)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    listeners = (
        (settings.s3_port, "--s3-port"),
        (settings.catalog_port, "--catalog-port"),
        (settings.console_port, "--console-port"),
        (settings.public_port, "--public-port"),
    )
    sockets: list[socket.socket] = []
    try:
        for port, flag in listeners:
            sockets.append(bind(settings.host, port, flag, settings.backlog))
    except StartupError:
        for sock in sockets:
            sock.close()
        raise
    tune_malloc()  # before the fork: every worker inherits it
    _raise_open_file_limit(settings.max_connections)
    created = prepare(settings)
    reset_dir(metrics_dir(settings.data_dir, settings.node_id))
    os.environ[SETTINGS_ENV] = settings_to_env(settings)
    announce(settings, created)
    if settings.workers <= 1:
        uvicorn.Server(uvicorn_config(settings)).run(sockets=sockets)
    else:
        supervise(settings, sockets)


def _raise_open_file_limit(max_connections: int) -> None:
    """Each connection is a file descriptor: a soft limit of 1,024 (a common default) would make accept() fail
    before ``max_connections`` is reached, so the soft limit goes up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft < max_connections + 256:
        log.warning("open file limit %d is low for --max-connections %d per worker", soft, max_connections)


def _worker(settings: Settings, sockets: list[socket.socket], watch: ParentWatch) -> int:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            watch.in_worker()
            uvicorn.Server(uvicorn_config(settings)).run(sockets=sockets)
        finally:
            os._exit(0)
    return pid


def supervise(settings: Settings, sockets: list[socket.socket]) -> None:
    """Forks the workers and keeps them running until SIGTERM/SIGINT; if this process dies however it dies
    (SIGKILL included), the workers follow within seconds (see lakebox.supervision)."""
    stopping = False
    watch = ParentWatch()

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    workers = {_worker(settings, sockets, watch) for _ in range(settings.workers)}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while workers:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        workers.discard(pid)
        if not stopping:
            log.warning("worker %d exited (%s); starting another", pid, status)
            time.sleep(0.5)
            workers.add(_worker(settings, sockets, watch))


def announce(settings: Settings, created: dict[str, str] | None) -> None:
    lines = [
        f"lakebox: S3 endpoint  {settings.s3_endpoint}  (region auto)",
        f"lakebox: catalog URI  {settings.catalog_uri}",
        f"lakebox: console      {settings.console_url}",
        f"lakebox: account id   {installation_account_id(settings)}  "
        f"(Cloudflare API: {settings.console_url}/client/v4)",
        f"lakebox: public       {settings.public_url}  (buckets with public access enabled)",
        f"lakebox: data dir     {settings.data_dir}  ({settings.workers} worker(s))",
    ]
    if created is not None:
        lines += [
            "lakebox: created the root Admin Read & Write token (shown once; also in "
            f"{settings.data_dir / 'root-credentials.json'}):",
            f"  access key id      {created['access_key_id']}",
            f"  secret access key  {created['secret_access_key']}",
            f"  token              {created['token']}",
        ]
    else:
        lines.append(f"lakebox: credentials in {settings.data_dir / 'root-credentials.json'}")
    print("\n".join(lines), file=sys.stderr, flush=True)
    ready = {"event": "ready", "s3_endpoint": settings.s3_endpoint}
    log.debug(json.dumps(ready))
