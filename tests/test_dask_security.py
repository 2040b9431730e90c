"""Dask is safe by default: the embedded cluster is loopback-only, TLS-only, without a dashboard.

A client without the cluster's credentials is refused by the scheduler, the nannies and the
workers, so it cannot run code there (no file gets written). A bad or unreachable
``--scheduler`` fails in one line within seconds, before the output folder exists.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

pytest.importorskip("distributed", reason="Dask distributed is not installed")
pytest.importorskip("cryptography", reason="cryptography (TLS credentials for Dask) is not installed")

from distributed import Client
from distributed.security import Security

from sim.cluster import (
    DASHBOARD_ENV,
    LOOPBACK,
    SchedulerError,
    check_scheduler,
    dashboard_address,
    embedded_cluster,
)
from sim.plan import BatchError
from tests.conftest import ROOT

REFUSED_WITHIN = 60.0  # seconds: a guard against a hang, not a speed target (timings are reported, not asserted)
TLS_ENV = "DASK_DISTRIBUTED__COMM__TLS__"


@dataclass
class Embedded:
    """The running embedded cluster and what listened before it started."""

    client: Client
    ports_before: set[tuple[str, int]]
    children_before: set[int]


def _listening(proc: psutil.Process) -> set[tuple[str, int]]:
    """The (ip, port) pairs a process listens on (TCP, IPv4 and IPv6)."""
    conns = getattr(proc, "net_connections", None) or proc.connections  # psutil < 6 names it connections
    return {(c.laddr.ip, c.laddr.port) for c in conns(kind="inet") if c.status == psutil.CONN_LISTEN}


@pytest.fixture(scope="module")
def embedded() -> Iterator[Embedded]:
    """The cluster the executor starts (``embedded_cluster``, default: no dashboard), two workers."""
    me = psutil.Process()
    ports, children = _listening(me), {p.pid for p in me.children(recursive=True)}
    with embedded_cluster(2) as client:
        yield Embedded(client, ports, children)


def _comm_ports(client: Client) -> set[int]:
    """The ports of the scheduler, the workers and the nannies (their Dask comms)."""
    workers = client.scheduler_info()["workers"]
    addresses = [client.scheduler.address, *workers, *(w["nanny"] for w in workers.values())]
    return {int(a.rsplit(":", 1)[1]) for a in addresses}


def test_everything_listens_on_loopback_only_and_there_is_no_dashboard(embedded):
    me = psutil.Process()
    new_children = [p for p in me.children(recursive=True) if p.pid not in embedded.children_before]
    assert len(new_children) >= 2, "the cluster's two worker processes"
    sockets = _listening(me) - embedded.ports_before
    for child in new_children:
        sockets |= _listening(child)
    assert sockets, "the cluster listens somewhere"
    assert {ip for ip, _ in sockets} == {LOOPBACK}, f"not loopback-only: {sorted(sockets)}"
    # every open port is a scheduler, worker or nanny comm: no dashboard, no HTTP server at all
    assert {port for _, port in sockets} == _comm_ports(embedded.client)
    info = embedded.client.scheduler_info()
    assert "dashboard" not in info.get("services", {})


def test_every_address_is_tls_on_loopback(embedded):
    workers = embedded.client.scheduler_info()["workers"]
    addresses = [embedded.client.scheduler.address, *workers, *(w["nanny"] for w in workers.values())]
    assert len(addresses) == 5
    assert all(a.startswith(f"tls://{LOOPBACK}:") for a in addresses), addresses


def _foreign(ca: str) -> Security:
    """Credentials of another cluster, trusting this cluster's certificate: its key is not ours."""
    other = Security.temporary()
    return Security(require_encryption=True, tls_ca_file=ca, tls_client_cert=other.tls_client_cert,
                    tls_client_key=other.tls_client_key)


def _foreign_files(ca: str, folder: Path) -> tuple[str, str, str]:
    """The same as files, for a client in another process."""
    other = Security.temporary()
    files = []
    for name, pem in (("ca.pem", ca), ("cert.pem", other.tls_client_cert), ("key.pem", other.tls_client_key)):
        (folder / name).write_text(pem)
        files.append(str(folder / name))
    return files[0], files[1], files[2]


# a client in a process of its own: a refused Dask client can deadlock its own process when the
# garbage collector closes it while a new one starts (distributed's LoopRunner), so each attempt
# runs apart, under a timeout, and cannot hang the test session
_CLIENT = """
import sys
from pathlib import Path
from distributed import Client
from distributed.security import Security
address, marker, ca, cert, key = sys.argv[1:6]
kw = {"security": Security(require_encryption=True, tls_ca_file=ca, tls_client_cert=cert,
                           tls_client_key=key)} if cert else {}
try:
    with Client(address, timeout=3, set_as_default=False, **kw) as c:
        c.run(Path(marker).touch)
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
"""


def _try_client(address: str, marker: Path, files: tuple[str, str, str] = ("", "", "")) -> str | None:
    """Connect a client and run code on the workers with it; the error it met, None if it got through."""
    try:
        p = subprocess.run([sys.executable, "-c", _CLIENT, address, str(marker), *files], capture_output=True,
                           text=True, timeout=REFUSED_WITHIN)
    except subprocess.TimeoutExpired:
        return "no answer (timed out)"
    return None if p.returncode == 0 else (p.stdout.strip() or p.stderr.strip()[-300:] or "refused")


def test_a_client_without_the_credentials_is_refused(embedded, tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("DASK_")]:  # no credentials from the environment
        monkeypatch.delenv(name)
    address = embedded.client.scheduler.address
    ca = embedded.client.security.tls_ca_file
    # control: with the credentials the same call writes the file
    control = tmp_path / "control"
    embedded.client.run(control.touch)
    assert control.exists()
    marker = tmp_path / "marker"
    attempts = {"plain client": (address, ("", "", "")),
                "plaintext tcp": (address.replace("tls://", "tcp://"), ("", "", "")),
                "another cluster's key": (address, _foreign_files(ca, tmp_path))}
    for what, (addr, files) in attempts.items():
        error = _try_client(addr, marker, files)
        assert error is not None, f"{what}: connected and ran code"
    assert not marker.exists()


async def _touch_via(address: str, op: str, connection_args: dict[str, Any], path: Path) -> None:
    """Ask a Dask server directly (no client) to run ``path.touch``: the scheduler, a nanny or a worker."""
    from distributed.core import rpc
    from distributed.protocol import pickle

    async with rpc(address, timeout=3, connection_args=connection_args) as r:
        await asyncio.wait_for(getattr(r, op)(function=pickle.dumps(path.touch)), REFUSED_WITHIN)


def _no_client_cert(ca: str) -> dict[str, Any]:
    """TLS that trusts the cluster but presents no certificate of its own."""
    ctx = ssl.create_default_context(cadata=ca)
    ctx.check_hostname = False
    return {"ssl_context": ctx, "require_encryption": True}


def _servers(client: Client) -> list[tuple[str, str]]:
    """(address, the op that runs a function there) for the scheduler, each nanny and each worker."""
    workers = client.scheduler_info()["workers"]
    return [(client.scheduler.address, "run_function"), *((w["nanny"], "run") for w in workers.values()),
            *((a, "run") for a in workers)]


def test_no_server_of_the_cluster_runs_code_for_a_stranger(embedded, tmp_path):
    security = embedded.client.security
    ca = security.tls_ca_file
    servers = _servers(embedded.client)
    # control: with the credentials, each server runs the function
    for i, (address, op) in enumerate(servers):
        asyncio.run(_touch_via(address, op, security.get_connection_args("client"), tmp_path / f"ok{i}"))
    assert all((tmp_path / f"ok{i}").exists() for i in range(len(servers)))
    marker = tmp_path / "marker"
    strangers = {"plaintext": lambda a: (a.replace("tls://", "tcp://"), {}),
                 "no client certificate": lambda a: (a, _no_client_cert(ca)),
                 "another cluster's key": lambda a: (a, _foreign(ca).get_connection_args("client"))}
    for what, how in strangers.items():
        for address, op in servers:
            addr, args = how(address)
            t0 = time.monotonic()
            with pytest.raises(Exception):  # noqa: B017 - refused: the type depends on where the handshake fails
                asyncio.run(_touch_via(addr, op, args, marker))
            assert time.monotonic() - t0 < REFUSED_WITHIN, f"{what} to {address}: too slow"
    assert not marker.exists()


def _write_credentials(security: Security, folder: Path) -> dict[str, str]:
    """The cluster's credentials as PEM files, named by DASK_ variables as a user would set them."""
    files = {"CA_FILE": security.tls_ca_file, "CLIENT__CERT": security.tls_client_cert,
             "CLIENT__KEY": security.tls_client_key}
    env = {}
    for name, pem in files.items():
        path = folder / f"{name.lower()}.pem"
        path.write_text(pem)
        path.chmod(0o600)
        env[TLS_ENV + name] = str(path)
    return env


def _check_in_subprocess(address: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from sim.cluster import check_scheduler; check_scheduler(sys.argv[1])"
    return subprocess.run([sys.executable, "-c", code, address], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_tls_scheduler_is_reached_with_certificates_from_dask_config(embedded, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    address = embedded.client.scheduler.address
    ok = _check_in_subprocess(address, env | _write_credentials(embedded.client.security, tmp_path))
    assert ok.returncode == 0, ok.stderr
    refused = _check_in_subprocess(address, env)
    assert refused.returncode != 0
    assert f"{TLS_ENV}CA_FILE" in refused.stderr


def test_check_accepts_the_scheduler_and_refuses_a_worker_with_the_same_credentials(embedded):
    import dask

    security = embedded.client.security
    config = {"distributed.comm.tls.ca-file": security.tls_ca_file,  # PEM contents work as well as paths
              "distributed.comm.tls.client.cert": security.tls_client_cert,
              "distributed.comm.tls.client.key": security.tls_client_key}
    worker = next(iter(embedded.client.scheduler_info()["workers"]))
    with dask.config.set(config):
        check_scheduler(embedded.client.scheduler.address)
        with pytest.raises(SchedulerError, match="is a Dask Worker, not a scheduler"):
            check_scheduler(worker)
        with pytest.raises(SchedulerError, match="refused"):  # plaintext to a TLS listener
            check_scheduler(embedded.client.scheduler.address.replace("tls://", "tcp://"))


@pytest.mark.parametrize("address", ["not a url::", "", "tcp://host", "foo://h:1", "tcp://h:0", "bad\nline",
                                     "inproc://h:1"])
def test_a_malformed_address_is_one_line_at_once(address):
    t0 = time.monotonic()
    with pytest.raises(SchedulerError) as err:
        check_scheduler(address)
    assert time.monotonic() - t0 < 2
    assert "\n" not in str(err.value) and "--scheduler" in str(err.value)
    assert isinstance(err.value, BatchError)  # the CLI reports it in one line, exit code 2


def test_a_bare_host_port_gets_a_hint():
    with pytest.raises(SchedulerError, match=r"did you mean 'tcp://10\.0\.0\.5:8786'"):
        check_scheduler("10.0.0.5:8786")  # refused before any connection is tried


def test_an_unreachable_scheduler_is_one_line_within_seconds():
    t0 = time.monotonic()
    with pytest.raises(SchedulerError) as err:
        check_scheduler("tcp://127.0.0.1:1")
    assert time.monotonic() - t0 < REFUSED_WITHIN
    assert "\n" not in str(err.value) and "tcp://127.0.0.1:1" in str(err.value)


def test_tls_without_certificates_says_which_variables_to_set(monkeypatch):
    for name in [k for k in os.environ if k.startswith("DASK_")]:
        monkeypatch.delenv(name)
    with pytest.raises(SchedulerError, match=f"{TLS_ENV}CLIENT__CERT"):
        check_scheduler("tls://127.0.0.1:1")


def test_the_dashboard_is_off_unless_asked(monkeypatch):
    monkeypatch.delenv(DASHBOARD_ENV, raising=False)
    assert dashboard_address() is None
    monkeypatch.setenv(DASHBOARD_ENV, "8788")
    assert dashboard_address() == f"{LOOPBACK}:8788"
    monkeypatch.setenv(DASHBOARD_ENV, ":8788")
    assert dashboard_address() == f"{LOOPBACK}:8788"  # ":port" would be every interface for Dask


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "not a url::"])
def test_cli_bad_scheduler_exits_2_in_one_line_and_writes_nothing(address, tmp_path):
    out = tmp_path / "x"
    cmd = [sys.executable, "run.py", "run", "scenarios/baseline.yaml", "-n", "2", "--months", "3",
           "--executor", "dask", "--scheduler", address, "--out", str(out), "--seed", "1"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - t0
    assert r.returncode == 2, r.stderr
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not out.exists(), "the output folder was created for a batch that cannot run"
