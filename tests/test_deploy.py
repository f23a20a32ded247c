"""deploy/: the generated HAProxy configs, the hall's bad-input paths (nothing left running), and the container files
(Dockerfile, compose, Kubernetes) parsed and checked for the fields that matter, since no container runtime runs
here."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from deploy import hall
from deploy.hall import HallError, compose_config, compose_file, local_servers, render_config
from tests.conftest import free_port

DEPLOY = Path(hall.__file__).resolve().parent
REPO_ROOT = DEPLOY.parent
HEALTH = "/_stcore/health"


def haproxy_or_skip() -> str:
    try:
        return hall.find_haproxy()
    except HallError as e:  # `make test` installs it
        pytest.skip(str(e))


def server_lines(cfg: str) -> list[list[str]]:
    return [line.split() for line in cfg.splitlines() if line.strip().startswith("server ")]


def backend_lines(cfg: str) -> list[str]:
    return [line.strip() for line in cfg.split("backend replicas", 1)[1].splitlines()]


# --- the HAProxy config ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 4, 9])
def test_the_config_has_one_checked_cookie_server_per_replica_on_consecutive_ports(n):
    cfg = render_config(local_servers(n, 9000), "127.0.0.1:8999")
    servers = server_lines(cfg)
    assert [s[1] for s in servers] == [f"replica{i}" for i in range(1, n + 1)]
    assert [s[2] for s in servers] == [f"127.0.0.1:{9000 + i}" for i in range(n)]
    for s in servers:
        assert "check" in s and s[s.index("cookie") + 1] == s[1], "health-checked, its own cookie value"
    assert "bind 127.0.0.1:8999" in cfg


def test_the_config_has_affinity_health_checks_websocket_timeouts_and_the_replica_header():
    cfg = render_config(local_servers(2, 9000), "127.0.0.1:8999")
    lines = backend_lines(cfg)
    assert "cookie SERVERID insert indirect nocache httponly" in lines
    assert f"option httpchk GET {HEALTH}" in lines and "http-check expect status 200" in lines
    assert "http-response set-header X-Replica %[srv_name]" in lines
    tunnel = re.search(r"^\s*timeout tunnel (\d+)h$", cfg, re.M)
    assert tunnel and int(tunnel.group(1)) >= 1, "an open websocket may sit idle for an hour or more"
    assert re.search(r"^\s*option redispatch$", cfg, re.M), "a dead replica's browsers go elsewhere"


@pytest.mark.parametrize("which", ["local", "compose"])
def test_haproxy_accepts_the_generated_configs(tmp_path, which):
    haproxy = haproxy_or_skip()
    text = render_config(local_servers(4, 9000), "127.0.0.1:8999") if which == "local" else compose_config(4)
    (tmp_path / "haproxy.cfg").write_text(text)
    r = subprocess.run([haproxy, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_empty_hall_is_refused():
    with pytest.raises(HallError, match="at least one replica"):
        render_config([], "127.0.0.1:8999")


# --- starting and stopping -----------------------------------------------------------------------------------------


def test_missing_haproxy_says_what_to_install_and_starts_nothing(tmp_path):
    with pytest.raises(HallError, match=r"haproxy not found at /nowhere/haproxy: .*apt-get install haproxy"):
        hall.start(2, port=free_port(), run_dir=tmp_path, haproxy="/nowhere/haproxy")
    assert list(tmp_path.glob("*.pid")) == []


def test_a_port_in_use_is_named_and_nothing_is_started(tmp_path):
    haproxy = haproxy_or_skip()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(HallError, match=rf"port {port} on 127.0.0.1 \(replica2's port\) is in use"):
            hall.start(3, port=free_port(), replica_port=port - 1, run_dir=tmp_path, haproxy=haproxy)
        with pytest.raises(HallError, match=rf"port {port} on 127.0.0.1 \(the hall's front door\) is in use"):
            hall.start(1, port=port, run_dir=tmp_path, haproxy=haproxy)
    assert list(tmp_path.glob("*.pid")) == [] and hall.running(tmp_path) == {}


def test_a_replica_that_will_not_start_stops_the_others_and_shows_its_log(tmp_path):
    haproxy = haproxy_or_skip()
    with pytest.raises(HallError, match=r"replica\d \(port \d+\) exited with code \d+ before answering") as e:
        hall.start(2, port=free_port(), replica_port=hall.free_ports(2), run_dir=tmp_path, script="no_such_app.py",
                   haproxy=haproxy, timeout=60, log=lambda *_: None)
    assert "no_such_app.py" in str(e.value), "the message carries the end of the replica's log"
    assert hall.running(tmp_path) == {} and list(tmp_path.glob("*.pid")) == []


def test_stop_ends_exactly_the_processes_it_started(tmp_path):
    ours = hall._spawn("replica1", [sys.executable, "-c", "import time; time.sleep(60)", "--server.port 1"],
                       tmp_path, marker="--server.port 1")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a pid file naming a process that is not ours (a reused pid): left alone
        (tmp_path / "replica2.pid").write_text(json.dumps({"pid": stranger.pid, "marker": "--server.port 2"}))
        deadline = time.monotonic() + 20  # until the child has exec'd, its command line is still the parent's
        while hall.running(tmp_path) != {"replica1": ours.pid} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hall.running(tmp_path) == {"replica1": ours.pid}
        assert hall.stop(tmp_path) == [f"replica1 (pid {ours.pid})"]
        assert ours.wait(timeout=10) is not None
        assert stranger.poll() is None, "a process the hall did not start survives make hall-stop"
        assert list(tmp_path.glob("*.pid")) == [] and hall.stop(tmp_path) == []
    finally:
        stranger.kill()
        stranger.wait()


# --- container files -------------------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_dockerfile_serves_the_app_on_8501_with_a_health_check_and_installs_the_pins():
    steps = dockerfile()
    kinds = [k for k, _ in steps]
    assert kinds[0] == "FROM" and re.match(r"python:3\.1[0-9]", steps[0][1])
    assert ("EXPOSE", "8501") in steps
    assert ("RUN", "pip install -r requirements.txt") in steps
    cmd = json.loads(dict(steps)["CMD"])
    assert cmd[:5] == ["python", "-m", "streamlit", "run", "app.py"]
    assert cmd[cmd.index("--server.port") + 1] == "8501" and cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert "http://127.0.0.1:8501/_stcore/health" in dict(steps)["HEALTHCHECK"]
    assert kinds.index("USER") > kinds.index("RUN"), "the server does not run as root"


def test_the_image_holds_everything_the_app_reads_and_no_virtual_environment():
    ignored = [p.strip() for p in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if p.strip() and not p.startswith("#")]
    needed = ["app.py", "pyproject.toml", "requirements.txt", ".streamlit/config.toml", "data/mnist.npz",
              "checkpoints/vae-z2/model.pt", "pages/explorer.py", "ui/__init__.py", "vae/models.py"]
    for path in needed:
        assert (REPO_ROOT / path).exists(), path
        assert not any(fnmatch.fnmatch(path, pat) or path.startswith(pat.rstrip("/") + "/") for pat in ignored), path
    for path in [".venv/bin/python", ".git/HEAD", "tests/test_deploy.py"]:
        assert any(path.startswith(pat + "/") for pat in ignored), path


def test_the_committed_compose_files_are_the_generators_output():
    assert (DEPLOY / "compose.yaml").read_text() == compose_file(4)
    assert (DEPLOY / "haproxy-compose.cfg").read_text() == compose_config(4)


@pytest.mark.parametrize("n", [2, 4])
def test_compose_runs_n_health_checked_replicas_behind_haproxy_with_its_config(n):
    services = yaml.safe_load(compose_file(n))["services"]
    apps = [f"app{i}" for i in range(1, n + 1)]
    assert sorted(services) == sorted(apps + ["haproxy"])
    for name in apps:
        app = services[name]
        assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert "ports" not in app, "replicas are reached through HAProxy only"
        assert f"http://127.0.0.1:8501{HEALTH}" in " ".join(app["healthcheck"]["test"])
    lb = services["haproxy"]
    assert lb["ports"] == ["8501:8501"]
    assert lb["volumes"] == ["./haproxy-compose.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"]
    assert lb["depends_on"] == {name: {"condition": "service_healthy"} for name in apps}
    assert [s[1:3] for s in server_lines(compose_config(n))] == [[name, f"{name}:8501"] for name in apps]


def k8s() -> dict[str, dict]:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "latent-explorer.yaml").read_text()))
    return {d["kind"]: d for d in docs}


def test_the_deployment_probes_health_on_the_container_port():
    spec = k8s()["Deployment"]["spec"]
    assert spec["replicas"] >= 2
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    (container,) = spec["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8501}
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == HEALTH and ports.get(get["port"], get["port"]) == 8501, probe
    assert container["livenessProbe"]["initialDelaySeconds"] >= container["readinessProbe"]["initialDelaySeconds"]
    assert container["resources"]["requests"]["cpu"] == "1", "one core per pod: the README's sizing unit"


def test_the_service_and_ingress_route_to_the_pods_with_cookie_affinity_and_long_websocket_timeouts():
    docs = k8s()
    dep, svc, ing = docs["Deployment"], docs["Service"], docs["Ingress"]
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    (port,) = svc["spec"]["ports"]
    assert port["targetPort"] in (8501, "http")
    notes = ing["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    (rule,) = ing["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/" and path["backend"]["service"] == {"name": svc["metadata"]["name"],
                                                                 "port": {"number": port["port"]}}


def test_make_hall_and_hall_stop_call_the_generator():
    make = (REPO_ROOT / "Makefile").read_text()
    hall_rule = re.search(r"^hall:.*\n\t(.+)$", make, re.M).group(1)
    assert shlex.split(hall_rule)[1:4] == ["-m", "deploy.hall", "start"]
    assert "--replicas $(REPLICAS)" in hall_rule and "--port $(PORT)" in hall_rule and "--host $(HOST)" in hall_rule
    assert re.search(r"^hall-stop:.*\n\t.+-m deploy\.hall stop$", make, re.M)
    assert re.search(r"^system-packages:.*\n(\t.*\n)*\t.*haproxy", make, re.M), "make test installs haproxy"


@pytest.mark.slow
def test_a_hall_routes_by_cookie_and_takes_a_dead_replica_out_of_rotation(tmp_path):
    """Two real replicas: newcomers alternate, a cookie pins its replica, and once a replica is killed its cookie's
    requests are answered by the other one (with a new cookie) and HAProxy's stats say DOWN."""
    import os
    import signal
    import time
    import urllib.request

    haproxy = haproxy_or_skip()
    h = hall.start(2, port=free_port(), replica_port=hall.free_ports(2), run_dir=tmp_path, haproxy=haproxy,
                   log=lambda *_: None)
    try:
        def get(cookie: str | None = None) -> tuple[str, str]:
            req = urllib.request.Request(h.url + HEALTH, headers={"Cookie": cookie} if cookie else {})
            with urllib.request.urlopen(req, timeout=30) as r:
                assert r.status == 200
                set_cookie = [c for c in r.headers.get_all("Set-Cookie") or [] if c.startswith("SERVERID=")]
                return r.headers["X-Replica"], set_cookie[0].split(";")[0] if set_cookie else ""

        first, second = get(), get()
        assert {first[0], second[0]} == {"replica1", "replica2"}, "newcomers go round the replicas"
        assert first[1] == f"SERVERID={first[0]}"
        assert [get(first[1])[0] for _ in range(4)] == [first[0]] * 4, "the cookie keeps its replica"

        os.kill(h.replicas[first[0]], signal.SIGKILL)
        moved = get(first[1])
        assert moved == (second[0], f"SERVERID={second[0]}"), "a dead replica's browser is moved, cookie and all"
        deadline = time.monotonic() + 20
        while (state := _server_state(tmp_path / "haproxy.sock", first[0])) != "DOWN" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state == "DOWN"
        assert _server_state(tmp_path / "haproxy.sock", second[0]) == "UP"
    finally:
        stopped = hall.stop(tmp_path)
    assert f"haproxy (pid {h.haproxy_pid})" in stopped and len(stopped) == 2, stopped
    assert hall.running(tmp_path) == {}


def _server_state(sock_path: Path, server: str) -> str:
    """A server's status from HAProxy's stats socket (`show stat`, CSV)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock_path))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    header, *rows = data.decode().lstrip("# ").splitlines()
    cols = header.split(",")
    for row in rows:
        fields = dict(zip(cols, row.split(",")))
        if fields.get("pxname") == "replicas" and fields.get("svname") == server:
            return fields["status"]
    return "?"


def test_the_load_benchmark_starts_measures_and_stops_its_own_hall():
    """`python -m benchmarks.concurrent_sessions --hall N`: every session's clicks answered by one replica, the CPU
    of the replicas and HAProxy counted, and nothing left running afterwards."""
    haproxy_or_skip()
    before = _halls_running()
    run = subprocess.run([sys.executable, "-m", "benchmarks.concurrent_sessions", "--sessions", "2", "--seconds", "3",
                          "--hall", "1"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "replicas (X-Replica): 1 warmed; sessions per replica replica1 2;" in out
    assert "on one replica: 2 of 2" in out and "errors: 0" in out
    assert re.search(r"server CPU: [\d.]+ s over the click phase", out)
    assert _halls_running() == before, "the benchmark's hall is stopped"


def _halls_running() -> int:
    """How many HAProxy processes this user runs."""
    out = subprocess.run(["pgrep", "-c", "-x", "-u", str(os.getuid()), "haproxy"], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)
