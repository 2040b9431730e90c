"""Dask execution: an embedded cluster that only this process can use, or a running scheduler.

The embedded LocalCluster listens on 127.0.0.1 only (scheduler, nannies and workers) and
speaks TLS with credentials made for it in memory (``Security.temporary()``): a process
that learns its address but not its key cannot connect, so it cannot run code in the
workers. It has no dashboard and no HTTP listener at all, unless the ``SIM_DASK_DASHBOARD``
environment variable asks for one (a port, bound to 127.0.0.1, or ``HOST:PORT``).

A running scheduler (``--scheduler``) is reached with Dask's own security configuration
(``distributed.comm.tls.*`` in a Dask config file, or ``DASK_DISTRIBUTED__COMM__TLS__*``
environment variables), so a cluster secured with TLS certificates is used as it is.
:func:`check_scheduler` tells, in one line and a few seconds, that an address is malformed
or that no scheduler answers there, before a batch writes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from sim.plan import BatchError

if TYPE_CHECKING:
    from distributed import Client
    from distributed.security import Security

    from sim.plan import Chunk

LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT = 5.0  # seconds: a scheduler that does not answer by then is reported, not waited for
DASHBOARD_ENV = "SIM_DASK_DASHBOARD"
SCHEMES = ("tcp", "tls", "ws", "wss")  # Dask's network transports (inproc is within one process)
TLS_SCHEMES = ("tls", "wss")
TLS_ENV = "DASK_DISTRIBUTED__COMM__TLS__"
MAX_SHOWN = 80  # characters of a rejected address or error shown, so the message stays one line


class SchedulerError(BatchError):
    """A Dask scheduler cannot be used: a malformed address, no answer, or missing credentials."""


def _shown(text: object) -> str:
    """A value for a one-line message: its repr (newlines escaped), cut to MAX_SHOWN."""
    shown = repr(text)
    return shown if len(shown) <= MAX_SHOWN else shown[: MAX_SHOWN - 3] + "..."


def _first_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _split(address: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of ``SCHEME://HOST:PORT`` (tcp when there is no scheme); None if malformed."""
    from distributed.comm.addressing import parse_address, parse_host_port

    if any(c.isspace() for c in address):
        return None
    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location)
    except ValueError:
        return None
    ok = bool(host) and isinstance(port, int) and 0 < port < 2**16
    return (scheme, host, port) if ok else None


def parse_scheduler(address: str) -> str:
    """Check that ``address`` is ``SCHEME://HOST:PORT`` with a network scheme; return the scheme.

    Raises:
        SchedulerError: the address is malformed (one line, naming what was expected).
    """
    parts = _split(address) if isinstance(address, str) else None
    if parts is not None and parts[0] in SCHEMES and "://" in address:
        return parts[0]
    # a bare HOST:PORT is what Dask prints without its scheme: say which one it means
    hint = f"; did you mean 'tcp://{address}'?" if parts is not None and "://" not in address else ""
    raise SchedulerError(f"--scheduler: expected an address like tcp://HOST:PORT or tls://HOST:PORT, "
                         f"found {_shown(address)}{hint}")


def client_security(scheme: str) -> Security:
    """The client side of Dask's security configuration, checked against the address's scheme.

    Raises:
        SchedulerError: the configuration is invalid, a TLS address has no client certificate,
            or the configuration requires encryption and the address is plain.
    """
    from distributed.security import Security

    try:
        security = Security()  # reads distributed.comm.tls.* (Dask config files, DASK_* variables)
    except (ValueError, TypeError) as exc:
        raise SchedulerError(f"Dask security configuration: {_first_line(exc)}") from exc
    tls = scheme in TLS_SCHEMES
    if tls and not (security.tls_ca_file and security.tls_client_cert):
        raise SchedulerError(f"--scheduler: a {scheme}:// scheduler needs the client's TLS certificates: set "
                             f"{TLS_ENV}CA_FILE, {TLS_ENV}CLIENT__CERT and {TLS_ENV}CLIENT__KEY")
    if security.require_encryption and not tls:
        raise SchedulerError(f"--scheduler: Dask's configuration requires encryption "
                             f"(distributed.comm.require-encryption): use a tls:// address, not {scheme}://")
    return security


def _unusable(address: str, timeout: float, exc: BaseException) -> SchedulerError:
    """The one-line error for a scheduler that did not answer, or refused us."""
    if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
        return SchedulerError(f"--scheduler: no Dask scheduler answered at {_shown(address)} within {timeout:g} s")
    return SchedulerError(f"--scheduler: the Dask scheduler at {_shown(address)} refused the connection: "
                          f"{_first_line(exc)}")


async def _server_type(address: str, security: Security, timeout: float) -> str:
    """What kind of Dask server answers at ``address`` ("Scheduler", "Worker", "Nanny")."""
    from distributed.core import rpc

    async with asyncio.timeout(timeout), rpc(address, timeout=timeout,
                                             connection_args=security.get_connection_args("client")) as r:
        reply = await r.identity()
    return str(reply.get("type", "")) if isinstance(reply, dict) else ""


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Check that a Dask scheduler answers at ``address`` (call it before writing any output).

    It opens no client (no threads, nothing to clean up): one connection asks who answers.

    Args:
        address: ``tcp://HOST:PORT``, or ``tls://HOST:PORT`` with the client's certificates in
            Dask's configuration (``DASK_DISTRIBUTED__COMM__TLS__CA_FILE`` and ``...__CLIENT__CERT``,
            ``...__CLIENT__KEY``).
        timeout: seconds to wait for the scheduler to answer.

    Raises:
        SchedulerError: a :class:`~sim.plan.BatchError` with a one-line message.
    """
    security = client_security(parse_scheduler(address))
    # a thread of its own: asyncio.run works even when the caller runs an event loop (a notebook)
    with ThreadPoolExecutor(1) as pool:
        try:
            kind = pool.submit(asyncio.run, _server_type(address, security, timeout)).result()
        except Exception as exc:  # whatever the cause, this --scheduler cannot be used: one line
            raise _unusable(address, timeout, exc) from exc
    if kind != "Scheduler":
        raise SchedulerError(f"--scheduler: {_shown(address)} is a Dask {kind or 'server of unknown kind'}, "
                             f"not a scheduler")


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> Client:
    """A client of the running scheduler at ``address``, or a one-line error within ``timeout`` s.

    Raises:
        SchedulerError: malformed address, missing TLS credentials, or no scheduler answered.
    """
    from distributed import Client

    security = client_security(parse_scheduler(address))
    try:
        return Client(address, timeout=timeout, security=security, set_as_default=False)
    except Exception as exc:  # whatever the cause, this --scheduler cannot be used: one line, no traceback
        raise _unusable(address, timeout, exc) from exc


def dashboard_address() -> str | None:
    """The dashboard the user asked for with ``SIM_DASK_DASHBOARD``; None (the default): no dashboard.

    A bare port (``8787`` or ``:8787``) binds 127.0.0.1: all interfaces only when named (``0.0.0.0:8787``).
    """
    value = os.environ.get(DASHBOARD_ENV, "").strip()
    if not value:
        return None
    port = value.removeprefix(":")
    return f"{LOOPBACK}:{port}" if port.isdigit() else value


def _stop_http_server(server: Any) -> None:
    """Close a Dask server's HTTP listener (Dask always opens one, dashboard or not)."""
    http = getattr(server, "http_server", None)
    if http is not None:
        http.stop()
        server.services.pop("dashboard", None)


def _stop_scheduler_http(dask_scheduler: Any) -> None:
    """Run on the scheduler: close its HTTP listener."""
    _stop_http_server(dask_scheduler)


class NoHttpPlugin(WorkerPlugin):
    """Close each worker's HTTP listener, including a worker its nanny restarts."""

    name = "sim-no-http"

    def setup(self, worker: Any) -> None:
        """Close the HTTP listener of a worker that joins."""
        _stop_http_server(worker)


def _temporary_security() -> Security:
    """Fresh in-memory TLS credentials for the embedded cluster (needs the cryptography package)."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError as exc:
        raise SchedulerError("--executor dask: the embedded cluster needs the cryptography package "
                             "for TLS (uv sync installs it)") from exc


def _http_routes(dashboard: str | None) -> dict[str, list[str]]:
    """Dask config: HTTP listeners serve nothing (neither info pages nor a proxy to the workers)."""
    routes: dict[str, list[str]] = {"distributed.worker.http.routes": []}
    if dashboard is None:
        routes["distributed.scheduler.http.routes"] = []
    return routes


@contextlib.contextmanager
def embedded_cluster(workers: int, dashboard: str | None = None) -> Iterator[Client]:
    """A LocalCluster on 127.0.0.1 with TLS and temporary credentials; yields its client.

    Args:
        workers: worker processes, one thread each.
        dashboard: the scheduler's dashboard address; None: no HTTP listener at all.
    """
    import dask
    from distributed import Client, LocalCluster

    security = _temporary_security()
    # the nannies capture this config: a worker they restart serves no HTTP routes either
    with dask.config.set(_http_routes(dashboard)):
        cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True, host=LOOPBACK,
                               protocol="tls://", security=security, dashboard_address=dashboard)
    try:
        client = Client(cluster, security=security, set_as_default=False)
        try:
            client.register_plugin(NoHttpPlugin(), name=NoHttpPlugin.name)
            if dashboard is None:
                client.run_on_scheduler(_stop_scheduler_http)
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _quiet() -> None:
    """Make a Dask worker log errors only (its tasks are being cancelled on purpose)."""
    logging.getLogger("distributed").setLevel(logging.ERROR)


_SHARED: list[tuple[int, Client]] = []  # the embedded cluster kept by :func:`kept_cluster`, if one is


@contextlib.contextmanager
def kept_cluster(workers: int, init: Callable[[], None]) -> Iterator[None]:
    """Keep one embedded cluster for every Dask batch of a block (a calibration's many small batches).

    Starting a LocalCluster takes seconds: a calibration that started one per batch would spend
    more time starting clusters than running. Inside the block, a batch with ``executor='dask'``,
    no scheduler and the same ``workers`` uses this cluster instead of starting its own.
    """
    with embedded_cluster(workers, dashboard_address()) as client:
        client.run(init)  # Ctrl-C reaches the whole process group: the batch stops its workers
        _SHARED.append((workers, client))
        try:
            yield
        finally:
            _SHARED.pop()


@contextlib.contextmanager
def _client(workers: int, scheduler: str | None, init: Callable[[], None]) -> Iterator[Client]:
    """A client of the running ``scheduler``, else of an embedded cluster of ``workers`` that each run ``init``."""
    if not scheduler and _SHARED and _SHARED[-1][0] == workers:
        yield _SHARED[-1][1]
        return
    if scheduler:
        client = connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    with kept_cluster(workers, init):  # kept for this batch only
        yield _SHARED[-1][1]


def _feed[R](client: Client, chunks: Sequence[Chunk], base_seed: int, months: int | None,
          workers: int, run_chunk: Callable[..., R]) -> Iterator[R]:
    """Submit chunks in a bounded window, as for the local pool; yield results as they complete."""
    from distributed import as_completed

    todo = iter(chunks)
    window = 2 * max(workers, len(client.scheduler_info().get("workers", {})), 1)

    def submit(c: Chunk) -> Any:
        return client.submit(run_chunk, c, base_seed, months, key=f"chunk-{c.key}-{base_seed}", pure=False)

    # this client's loop: it is not the process's default client (a notebook's own stays so)
    queue = as_completed([submit(c) for c in itertools.islice(todo, window)], loop=client.loop)
    for f in queue:
        yield f.result()
        f.release()
        nxt = next(todo, None)
        if nxt is not None:
            queue.add(submit(nxt))


def run_chunks[R](chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int,
               scheduler: str | None, task: Callable[..., R],
               init: Callable[[], None]) -> Iterator[R]:
    """Run chunks on Dask; yield results as they complete (any order).

    Workers send their tables back as bytes (they may run on machines that do not see the
    results folder).

    Args:
        chunks: the work, from :func:`sim.plan.plan_chunks`.
        base_seed: the batch's seed.
        months: horizon for every run; None: each point's own.
        workers: worker processes of the embedded cluster (and the least window of chunks in flight).
        scheduler: address of a running scheduler; None: an embedded cluster.
        task: what runs a chunk in a worker (:func:`sim.executors.run_chunk`).
        init: what each embedded worker runs first (:func:`sim.executors.worker_init`).

    Raises:
        SchedulerError: the scheduler cannot be reached (one line).
    """
    with _client(workers, scheduler, init) as client:
        try:
            yield from _feed(client, chunks, base_seed, months, workers, task)
        except BaseException:
            # stopped: the workers' tasks are cancelled on purpose; keep their logs from saying so
            logging.getLogger("distributed").setLevel(logging.ERROR)
            with contextlib.suppress(Exception):
                client.run(_quiet)
            raise
