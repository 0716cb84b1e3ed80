"""The production shape on one machine: ``make production-demo`` (README, docs/deployment.md).

    python tools/production_demo.py start [--detach] [--run-dir DIR] [--https-port 8443]
                                          [--app-ports 8101 8102] [--database-url URL]
    python tools/production_demo.py stop  [--run-dir DIR]

``start`` prepares a PostgreSQL database of its own (dropped and created anew unless
``--keep-database``), migrates it, loads the catalogue and creates the demo staff, then starts
what the city runs, from the very files docs/deployment.md tells it to install:

- two server processes, the ExecStart of ``deploy/systemd/queue-service@.service`` per port;
- the scheduler, the ExecStart of ``deploy/systemd/queue-service-scheduler.service``;
- nginx with ``deploy/nginx/buergerservice.conf`` (TLS with a self-signed certificate, sticky
  upstream, WebSocket upgrade) as an instance of its own on unprivileged ports;

all with the environment file ``deploy/queue-service.env`` whose machine-specific values are
filled in. It restarts a process that dies, as systemd's ``Restart=`` would, and stops
everything it started (by pid) on Ctrl-C, SIGTERM or ``stop``. ``--detach`` returns once all is
up. The run folder holds ``state.json`` (URLs, ports, pids, staff accounts, metrics token), the
generated configuration and the logs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "buergerservice.conf"
SERVER_UNIT = DEPLOY / "systemd" / "queue-service@.service"
SCHEDULER_UNIT = DEPLOY / "systemd" / "queue-service-scheduler.service"
ENV_FILE = DEPLOY / "queue-service.env"
# where the documented files put the installation (replaced by this checkout and its venv)
INSTALL_DIR = "/opt/queue-service"
DEFAULT_RUN_DIR = ROOT / "instance" / "production-demo"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/buergerservice_demo"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
# caller settings passed on to every process (e.g. CLOCK_START=2026-11-26T09:00)
PASS_THROUGH = re.compile(
    r"^(CLOCK_\w+|LOG_FORMAT|LOG_LEVEL|RATELIMIT_\w+|BOOKING_\w+|MAIL_\w+|SCHEDULER_\w+|"
    r"KIOSK_\w+|DISPLAY_POLL_SECONDS|STATUS_CACHE_SECONDS|NEXT_FREE_CACHE_SECONDS|HOLD_MINUTES|"
    r"CONFIRM_MINUTES|RELEASE_DELAY_MINUTES|CHECKIN_\w+|MAX_ACTIVE_APPOINTMENTS_PER_EMAIL|"
    r"PERSONAL_DATA_RETENTION_DAYS|NO_SHOW_AFTER_RECALLS|SOCKETIO_PING_\w+)$"
)


def log(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ the documented files


@dataclass
class Unit:
    """The parts of a systemd service unit that say how to run it."""

    exec_start: list[str]
    environment: dict[str, str]
    restart: str
    restart_sec: float


def read_unit(path: Path, instance: str = "") -> Unit:
    """ExecStart (continuation lines joined, %i replaced, install paths made local),
    Environment=, Restart= and RestartSec= of a unit file."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values.setdefault(key.strip(), []).append(value.strip().replace("%i", instance))
    if "ExecStart" not in values:
        raise SystemExit(f"{path}: no ExecStart")
    command = shlex.split(values["ExecStart"][-1])
    venv_bin = str(Path(sys.executable).parent)
    command = [
        arg.replace(f"{INSTALL_DIR}/.venv/bin", venv_bin).replace(INSTALL_DIR, str(ROOT))
        for arg in command
    ]
    environment: dict[str, str] = {}
    for assignment in values.get("Environment", []):
        for pair in shlex.split(assignment):
            key, _, value = pair.partition("=")
            environment[key] = value
    return Unit(
        command,
        environment,
        values.get("Restart", ["no"])[-1],
        float(values.get("RestartSec", ["0.1"])[-1].rstrip("s")),
    )


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (no shell expansion)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def write_env_file(path: Path, template: Path, values: dict[str, str]) -> None:
    """The documented environment file with this machine's values (mode 600)."""
    lines, seen = [], set()
    for line in template.read_text().splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("#") else None
        if key in values:
            lines.append(f"{key}={values[key]}")
            seen.add(key)
        else:
            lines.append(line)
    lines += [f"{key}={value}" for key, value in values.items() if key not in seen]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def nginx_site(run: Path, https_port: int, app_ports: list[int]) -> str:
    """deploy/nginx/buergerservice.conf with this machine's ports and certificate paths."""
    text = NGINX_SITE.read_text()
    replacements = [
        ("server 127.0.0.1:5001 ", f"server 127.0.0.1:{app_ports[0]} "),
        ("server 127.0.0.1:5002 ", f"server 127.0.0.1:{app_ports[1]} "),
        ("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl"),
        ("/etc/queue-service/tls/", f"{run / 'tls'}/"),
    ]
    for old, new in replacements:
        if old not in text:
            raise SystemExit(f"{NGINX_SITE} no longer contains {old!r}; update {__file__}")
        text = text.replace(old, new)
    return text


def nginx_main_conf(run: Path, temp: Path) -> str:
    """The instance's own nginx.conf (what Debian's /etc/nginx/nginx.conf is for the city)."""
    user = ""
    if os.geteuid() == 0:
        user = f"user {_worker_user().pw_name};\n"
    return f"""{user}worker_processes 1;
pid {run / "nginx.pid"};
error_log {run / "logs" / "nginx-error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    log_format upstream '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                        'upstream=$upstream_addr request_id=$request_id rt=$request_time '
                        'route=$cookie_qs_route';
    access_log {run / "logs" / "nginx-access.log"} upstream;
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include {run / "buergerservice.conf"};
}}
"""


def _worker_user():
    """Started as root, nginx runs its workers as this user (Debian's www-data)."""
    import pwd

    try:
        return pwd.getpwnam("www-data")
    except KeyError:
        return pwd.getpwnam("nobody")


def _world_traversable(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def nginx_temp_dir(run: Path) -> Path:
    """Where nginx's workers buffer bodies: in the run folder, or (started as root in a folder
    its unprivileged workers cannot reach) in a folder of its own under the temp directory."""
    import tempfile

    temp = run / "nginx"
    if os.geteuid() == 0 and not _world_traversable(run):
        temp = Path(tempfile.mkdtemp(prefix="queue-service-nginx-"))
        os.chmod(temp, 0o711)
    temp.mkdir(exist_ok=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / sub).mkdir(exist_ok=True)
        if os.geteuid() == 0:
            worker = _worker_user()
            os.chown(temp / sub, worker.pw_uid, worker.pw_gid)
    return temp


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("nginx is missing: installing the Debian package")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True, env=env)
        return find_nginx()
    raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")


def make_certificate(tls: Path) -> None:
    """A self-signed certificate for localhost and 127.0.0.1 (openssl)."""
    tls.mkdir(parents=True, exist_ok=True)
    if (tls / "fullchain.pem").exists() and (tls / "privkey.pem").exists():
        return
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(tls / "privkey.pem"),
            "-out",
            str(tls / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    os.chmod(tls / "privkey.pem", 0o600)


# ------------------------------------------------------------------ database


def sqlalchemy_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


def recreate_database(url: str, keep: bool) -> None:
    import psycopg
    from psycopg import sql

    target = url.rsplit("/", 1)
    name = target[1].split("?", 1)[0]
    admin = f"{target[0]}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and keep:
            return
        if exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_database(env: dict[str, str], run: Path) -> list[dict]:
    """Migrate, load the catalogue, (re)create the demo staff; their accounts."""
    accounts = run / "accounts.json"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "queue-service"),
            "demo",
            "--no-serve",
            "--accounts-file",
            str(accounts),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (run / "logs" / "prepare.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"preparing the database failed:\n{result.stdout}{result.stderr}")
    return json.loads(accounts.read_text())


# ------------------------------------------------------------------ processes


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    restart: str = "no"
    restart_sec: float = 1.0
    ready: object = None  # callable: True once it serves
    process: subprocess.Popen | None = None
    restarts: int = 0
    died_at: float | None = None
    history: list[int] = field(default_factory=list)

    def start(self) -> None:
        log_file = self.log_path.open("a")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped with its children
        )
        log_file.close()
        self.history.append(self.process.pid)
        self.died_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def http_ok(url: str, timeout: float = 2.0) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status == 200
    except OSError:
        return False


class Supervisor:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run = Path(args.run_dir).resolve()
        self.children: list[Child] = []
        self.stopping = False
        self.state: dict = {}
        self.nginx_temp: Path | None = None

    # -------------------------------------------------------------- set-up

    def prepare(self) -> None:
        args, run = self.args, self.run
        ports = [args.https_port, *args.app_ports]
        busy = [port for port in ports if not port_free(port)]
        if busy:
            raise SystemExit(
                f"ports in use: {busy} (another production demo? make production-demo-stop)"
            )
        nginx = find_nginx()
        for sub in ("logs", "mail", "instance", "metrics"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        for stale in (run / "metrics").glob("*.db"):
            stale.unlink()
        self.nginx_temp = nginx_temp_dir(run)
        make_certificate(run / "tls")
        base_url = f"https://127.0.0.1:{args.https_port}"
        metrics_token = secrets.token_urlsafe(24)
        values = {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "SOCKETIO_CHANNEL": f"buergerservice-demo-{args.https_port}",
            "SECRET_KEY": secrets.token_hex(32),
            "PUBLIC_BASE_URL": base_url,
            "MAIL_BACKEND": "folder",
            "MAIL_FOLDER": str(run / "mail"),
            "INSTANCE_PATH": str(run / "instance"),
            "METRICS_TOKEN": metrics_token,
            "PROMETHEUS_MULTIPROC_DIR": str(run / "metrics"),
        }
        values.update({k: v for k, v in os.environ.items() if PASS_THROUGH.match(k)})
        write_env_file(run / "env", ENV_FILE, values)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": os.environ.get("HOME", "/root"),
            **read_env_file(run / "env"),
        }
        log(f"Database {args.database_url}: {'kept' if args.keep_database else 'created anew'}")
        recreate_database(args.database_url, args.keep_database)
        accounts = prepare_database(env, run)
        (run / "buergerservice.conf").write_text(nginx_site(run, args.https_port, args.app_ports))
        (run / "nginx.conf").write_text(nginx_main_conf(run, self.nginx_temp))

        for port in args.app_ports:
            unit = read_unit(SERVER_UNIT, str(port))
            self.children.append(
                Child(
                    f"app-{port}",
                    unit.exec_start,
                    {**env, **unit.environment},
                    run / "logs" / f"app-{port}.log",
                    unit.restart,
                    unit.restart_sec,
                    ready=lambda port=port: http_ok(f"http://127.0.0.1:{port}/healthz"),
                )
            )
        unit = read_unit(SCHEDULER_UNIT)
        scheduler_log = run / "logs" / "scheduler.log"
        self.children.append(
            Child(
                "scheduler",
                unit.exec_start,
                {**env, **unit.environment},
                scheduler_log,
                unit.restart,
                unit.restart_sec,
                ready=lambda: (
                    "scheduler active" in scheduler_log.read_text(errors="replace")
                    or "Scheduler process started" in scheduler_log.read_text(errors="replace")
                ),
            )
        )
        nginx_cmd = [
            nginx,
            "-p",
            str(run),
            "-e",
            str(run / "logs" / "nginx-error.log"),
            "-c",
            str(run / "nginx.conf"),
            "-g",
            "daemon off;",
        ]
        check = subprocess.run([*nginx_cmd[:-2], "-t"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise SystemExit(f"nginx rejects the configuration:\n{check.stderr}")
        self.children.append(
            Child(
                "nginx",
                nginx_cmd,
                env,
                run / "logs" / "nginx.log",
                "always",
                1.0,
                ready=lambda: http_ok(f"{base_url}/healthz"),
            )
        )
        self.state = {
            "url": base_url,
            "https_port": args.https_port,
            "app_ports": args.app_ports,
            "app_urls": [f"http://127.0.0.1:{port}" for port in args.app_ports],
            "database_url": args.database_url,
            "redis_url": args.redis_url,
            "socketio_channel": values["SOCKETIO_CHANNEL"],
            "metrics": {
                "urls": [f"http://127.0.0.1:{port}/metrics" for port in args.app_ports],
                "token": metrics_token,
            },
            "accounts": accounts,
            "env_file": str(run / "env"),
            "logs": str(run / "logs"),
            "mail_folder": str(run / "mail"),
            "certificate": str(run / "tls" / "fullchain.pem"),
        }

    def write_state(self, status: str) -> None:
        self.state["status"] = status
        self.state["supervisor_pid"] = os.getpid()
        self.state["pids"] = {child.name: child.pid for child in self.children}
        self.state["restarts"] = {child.name: child.restarts for child in self.children}
        tmp = self.run / "state.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.state, fh, indent=2)
        os.replace(tmp, self.run / "state.json")

    # -------------------------------------------------------------- running

    def start_all(self, timeout: float = 60.0) -> None:
        for child in self.children:
            child.start()
            deadline = time.monotonic() + timeout
            while not child.ready():
                if not child.alive():
                    raise SystemExit(
                        f"{child.name} exited at start:\n{child.log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    raise SystemExit(f"{child.name} did not come up within {timeout:.0f}s")
                time.sleep(0.2)
            log(f"  started {child.name:<10} pid {child.pid}")

    def watch(self) -> None:
        """Restart what dies (Restart=always), until told to stop."""
        while not self.stopping:
            for child in self.children:
                if child.alive() or self.stopping:
                    continue
                if child.restart not in ("always", "on-failure"):
                    continue
                now = time.monotonic()
                if child.died_at is None:
                    child.died_at = now
                    log(
                        f"{child.name} (pid {child.pid}) exited; restarting in {child.restart_sec}s"
                    )
                elif now - child.died_at >= child.restart_sec:
                    child.restarts += 1
                    child.start()
                    log(f"{child.name} restarted, pid {child.pid}")
                    self.write_state("running")
            time.sleep(0.2)

    def stop_all(self, timeout: float = 25.0) -> None:
        self.stopping = True
        for child in reversed(self.children):
            if child.alive():
                child.signal(signal.SIGTERM if child.name != "nginx" else signal.SIGQUIT)
        deadline = time.monotonic() + timeout
        for child in self.children:
            while child.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if child.alive():
                child.signal(signal.SIGKILL)
                child.process.wait(5)
            # the process group may hold children the leader left behind
            child.signal(signal.SIGKILL)
        if self.nginx_temp is not None and self.nginx_temp.parent != self.run:
            shutil.rmtree(self.nginx_temp, ignore_errors=True)


def print_summary(state: dict) -> None:
    url = state["url"]
    log("")
    log(f"Production demo: nginx (TLS, self-signed) on {url}/")
    log(f"  servers    {', '.join(state['app_urls'])}  (gunicorn, gevent-websocket, 1 worker each)")
    log(f"  database   {state['database_url']}   Redis {state['redis_url']}")
    log(
        f"  metrics    {state['metrics']['urls'][0]}  (Authorization: Bearer {state['metrics']['token']})"
    )
    log("Open:")
    log(f"  Start page          {url}/")
    log(f"  Book an appointment {url}/termin/")
    log(f"  Display (Aegi)      {url}/display/aegi")
    log(f"  Staff login         {url}/admin/login")
    log(f"  API                 {url}/api/v1/offices")
    log("Staff accounts:")
    for account in state["accounts"]:
        where = ", ".join(account["offices"]) or "all offices"
        log(
            f"  {account['username']:<24} {account['role']:<8} {where:<14} password: {account['password']}"
        )
    log(f"State (pids, accounts, token): {Path(state['env_file']).parent / 'state.json'}")


def start(args: argparse.Namespace) -> int:
    run = Path(args.run_dir).resolve()
    if args.detach:
        run.mkdir(parents=True, exist_ok=True)
        (run / "logs").mkdir(exist_ok=True)
        state_path = run / "state.json"
        state_path.unlink(missing_ok=True)
        argv = [a for a in sys.argv[1:] if a != "--detach"]
        with (run / "logs" / "supervisor.log").open("w") as out:
            supervisor = subprocess.Popen(
                [sys.executable, __file__, *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if supervisor.poll() is not None:
                log((run / "logs" / "supervisor.log").read_text())
                return 1
            if state_path.exists():
                state = json.loads(state_path.read_text())
                if state.get("status") == "running":
                    print_summary(state)
                    log("Stop with: make production-demo-stop")
                    return 0
            time.sleep(0.3)
        supervisor.terminate()
        log("the production demo did not come up in time; see " + str(run / "logs"))
        return 1

    supervisor = Supervisor(args)

    def _stop(signum, frame):
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        supervisor.prepare()
        supervisor.write_state("starting")
        supervisor.start_all(args.timeout)
        supervisor.write_state("running")
        print_summary(supervisor.state)
        log("Ctrl-C (or make production-demo-stop) stops everything.")
        supervisor.watch()
    finally:
        log("Stopping ...")
        supervisor.stop_all()
        if supervisor.state:
            supervisor.write_state("stopped")
        log("Stopped.")
    return 0


def stop(args: argparse.Namespace) -> int:
    state_path = Path(args.run_dir).resolve() / "state.json"
    if not state_path.exists():
        log("no production demo is running here")
        return 0
    state = json.loads(state_path.read_text())
    pid = state.get("supervisor_pid")
    if state.get("status") != "stopped" and pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if json.loads(state_path.read_text()).get("status") == "stopped":
                break
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
    # whatever is still there (a supervisor killed with -9): its process groups, by pid
    for child_pid in (json.loads(state_path.read_text()).get("pids") or {}).values():
        if child_pid:
            try:
                os.killpg(child_pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    log("Production demo stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    begin = sub.add_parser("start", help="prepare and start everything; Ctrl-C stops it")
    begin.add_argument("--detach", action="store_true", help="return once everything is up")
    begin.add_argument("--run-dir", default=str(DEFAULT_RUN_DIR))
    begin.add_argument("--https-port", type=int, default=8443)
    begin.add_argument("--app-ports", type=int, nargs=2, default=[8101, 8102])
    begin.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    begin.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    begin.add_argument("--keep-database", action="store_true", help="do not drop and recreate it")
    begin.add_argument("--timeout", type=float, default=120.0)
    end = sub.add_parser("stop", help="stop a running production demo (by its pids)")
    end.add_argument("--run-dir", default=str(DEFAULT_RUN_DIR))
    args = parser.parse_args(argv)
    return start(args) if args.command == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
