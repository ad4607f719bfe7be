"""Commands inside containers: one-off commands (`docker exec box cmd`) and console sessions
(`docker exec -it box sh`).

Who may: the operator role (`container.exec`, `container.console`), and into a container that
holds a door to the host — privileged, a host namespace, a bind of a host path, added
capabilities or devices, itself or through the `container:` namespaces it joins — only whoever
may open every such door (the admin role): `safety.container_doors` + `safety.doors_check`,
the same judge as everywhere else. A shell in such a container is a shell on the host.

Every command and every session is in the activity log with who, where, the command, its user
and working directory, when it started, how long it took and its exit code; a session's row is
written when it ends (and a refused or failed start at once)."""
from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.conf import settings

from dockerweb.core.errors import AppError, BadRequest, Conflict, PermissionDenied
from dockerweb.core.models import Activity
from dockerweb.core.services import activity_record, change, permission_check
from dockerweb.engine import exec as engine_exec
from dockerweb.engine.archives import JOB_LABEL
from dockerweb.inventory.models import Host
from dockerweb.inventory.services import container_fetch

from . import safety

MAX_TIMEOUT = 300
DEFAULT_TIMEOUT = 30
# The first bytes a session printed: enough to tell why the engine could not start it.
_KEEP_FIRST = 4096


def command_text(cmd: list[str]) -> str:
    """The command as a person would type it (for the activity log)."""
    return shlex.join(cmd)[:500]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


def exec_doors(host: Host, raw: dict) -> list[tuple[str, str]]:
    """Every door to the host a command in container `raw` reaches: the container's own (and
    those of the namespaces it joins), and those of each volume it mounts — the volume's own
    options (a volume with `o=bind` is a host folder) and what its other users hold (whoever
    writes a volume changes what a privileged container sharing it runs)."""
    doors = list(safety.container_doors(host, raw))
    for m in raw.get("Mounts") or []:
        if m.get("Type") == "volume" and m.get("Name"):
            doors += safety.volume_doors(host, m["Name"])
    return doors


def _judge(*, actor, host: Host, name: str, raw: dict, what: str) -> None:
    """Refuse a command in dockerweb's own helper containers or in a container with doors
    `actor` may not open (403), or in one that does not run (409: there is no process to join)."""
    if ((raw.get("Config") or {}).get("Labels") or {}).get(JOB_LABEL):
        raise PermissionDenied(f"Container {name!r} is a helper of a dockerweb job: nobody runs commands in it.")
    safety.doors_check(user=actor, host=host, doors=exec_doors(host, raw),
                       how=f"{what} in container {name!r} reaches the host")
    state = raw.get("State") or {}
    if state.get("Paused"):
        raise Conflict(f"Container {name!r} is paused; unpause it before running commands in it.")
    if not state.get("Running") or state.get("Restarting"):
        status = state.get("Status") or "not running"
        raise Conflict(f"Container {name!r} is {status}: commands run only in a running container. Start it first.")


def container_exec(*, actor, host: Host, ident: str, cmd: list[str], user: str = "", workdir: str = "",
                   env: dict[str, str] | None = None, timeout: int = DEFAULT_TIMEOUT) -> dict:
    """Run `cmd` once, without a TTY: `{exit_code, output, truncated, timed_out}`.

    stdout and stderr are one text in the order the engine sent them, at most
    `settings.EXEC_MAX_OUTPUT` bytes (`truncated` says when more was dropped). After `timeout`
    seconds (at most 300) the command and what it started are killed: `exit_code` is None
    and `timed_out` true. An unknown user or working directory, or a command that cannot be
    run, is a 400 on that field."""
    if not cmd:
        raise BadRequest("Name the command to run.", field="cmd")
    timeout = int(timeout)
    if not 1 <= timeout <= MAX_TIMEOUT:
        raise BadRequest(f"The time limit is 1 to {MAX_TIMEOUT} seconds.", field="timeout")
    detail = {"command": command_text(cmd), "user": user, "workdir": workdir, "timeout": timeout}
    # The role first: a viewer is told 403 whether or not the container exists.
    permission_check(user=actor, action="container.exec", host=host, target=ident, detail=detail)
    container, raw = container_fetch(host=host, ident=ident)
    with change(user=actor, action="container.exec", host=host, target=container.name, detail=detail) as ch:
        _judge(actor=actor, host=host, name=container.name, raw=raw, what="A command")
        started = time.time()
        ch.detail["started"] = _iso(started)
        try:
            result = engine_exec.exec_run(host, raw["Id"], cmd=cmd, user=user, workdir=workdir, env=env,
                                          timeout=timeout, max_output=settings.EXEC_MAX_OUTPUT)
        finally:
            ch.detail["duration"] = round(time.time() - started, 3)
        output = result.output
        ch.detail.update(exit_code=result.exit_code, timed_out=result.timed_out, truncated=result.truncated)
        if result.kill is not None:
            ch.detail["killed"] = result.kill.how
            if not result.kill.gone:
                # Said in the answer itself: the caller must not believe it stopped.
                ch.detail["note"] = result.kill.note
                output += f"\n[dockerweb] {result.kill.note}\n"
        return {"exit_code": result.exit_code, "output": output, "truncated": result.truncated,
                "timed_out": result.timed_out}


# --- console sessions ------------------------------------------------------------------------------

@dataclass
class ConsoleSession:
    """A running console: the exec and its attach socket, and what the activity log needs."""

    actor: object
    host: Host
    container_name: str
    container_id: str
    exec_id: str
    token: str
    stream: engine_exec.ExecSocket
    cmd: list[str]
    user: str
    workdir: str
    tty: bool
    started: float = field(default_factory=time.time)
    first_output: bytearray = field(default_factory=bytearray)
    ended: bool = False
    activity: Activity | None = None

    def seen(self, data: bytes) -> None:
        """Keep the first bytes of output (the engine's reason, if it could not start it)."""
        if len(self.first_output) < _KEEP_FIRST:
            self.first_output += data[:_KEEP_FIRST - len(self.first_output)]

    def detail(self) -> dict:
        return {"command": command_text(self.cmd), "user": self.user, "workdir": self.workdir, "tty": self.tty,
                "exec_id": self.exec_id[:12], "started": _iso(self.started)}


def console_open(*, actor, host_name: str, ident: str, cmd: list[str], user: str = "", workdir: str = "",
                 tty: bool = True, cols: int = 80, rows: int = 24) -> ConsoleSession:
    """Start `cmd` in the container with stdin (and a TTY of `cols`×`rows`, unless `tty` is
    false) and take over its attach socket. A refusal or failure is logged at once; a session
    that starts is logged by `console_end`."""
    from dockerweb.inventory.selectors import host_get

    if not cmd:
        raise BadRequest("Name the command to run, e.g. [\"sh\"].", field="cmd")
    host = host_get(name=host_name)
    detail = {"command": command_text(cmd), "user": user, "workdir": workdir, "tty": tty}
    permission_check(user=actor, action="container.console", host=host, target=ident, detail=detail)
    container, raw = container_fetch(host=host, ident=ident)
    exec_id = None
    try:
        _judge(actor=actor, host=host, name=container.name, raw=raw, what="A console")
        exec_id, token = engine_exec.exec_create(host, raw["Id"], cmd=cmd, tty=tty, stdin=True, user=user,
                                                 workdir=workdir)
        stream = engine_exec.exec_attach(host, exec_id, tty=tty)
    except AppError as exc:
        outcome = Activity.Outcome.REFUSED if isinstance(exc, PermissionDenied) else Activity.Outcome.FAILED
        activity_record(user=actor, action="container.console", outcome=outcome, host=host, target=container.name,
                        detail={**detail, "message": exc.message, "status": exc.status})
        raise
    session = ConsoleSession(actor=actor, host=host, container_name=container.name, container_id=raw["Id"],
                             exec_id=exec_id, token=token, stream=stream, cmd=list(cmd), user=user, workdir=workdir,
                             tty=tty)
    # In the log from its start (a process that dies mid-session leaves this row behind, saying
    # the session began and never ended); `console_end` completes the same row.
    session.activity = activity_record(user=actor, action="container.console", outcome=Activity.Outcome.OK,
                                       host=host, target=container.name, detail={**session.detail(), "ended": None})
    # Before the first keystroke, so that the first command sees the page's size (engines
    # before API 1.42 take no size at start).
    console_resize(session, cols=cols, rows=rows)
    return session


def console_resize(session: ConsoleSession, *, cols: int, rows: int) -> None:
    """Give the session's TTY a size. The engine holds the resize of a process that could not
    start for seconds before refusing it, so one that has ended is not asked (and the wait is
    bounded for one that ends meanwhile)."""
    if not session.tty or session.ended:
        return
    try:
        info = engine_exec.exec_inspect(session.host, session.exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return
        engine_exec.exec_resize(session.host, session.exec_id, cols=cols, rows=rows, timeout=2)
    except AppError:
        pass  # the process has just ended; its end is reported on its own


def console_end(session: ConsoleSession, *, reason: str) -> dict:
    """End the session and log it. `reason`: "exit" (the process ended by itself), "closed"
    (the page went away), "idle", "signed out". Anything still running is killed first (closing
    the attach socket alone leaves the shell running). Returns `{exit_code, field?, detail?}`:
    `field` and `detail` when the engine could not start the command (an unknown user, say)."""
    if session.ended:
        return {"exit_code": None}
    session.ended = True
    host = session.host
    kill = None
    try:
        if reason != "exit":
            kill = engine_exec.exec_kill(host, session.container_id, session.exec_id, session.token)
        info = engine_exec.exec_wait(host, session.exec_id, timeout=2.0)
    except AppError as exc:
        info = {"ExitCode": None, "Pid": 1, "error": exc.message}
    finally:
        session.stream.close()
    code = info.get("ExitCode") if not info.get("Running") else None
    answer: dict = {"exit_code": code}
    failure = engine_exec.start_failure(info, session.first_output.decode(errors="replace")) if reason == "exit" else None
    detail = {**session.detail(), "duration": round(time.time() - session.started, 3), "exit_code": code,
              "ended": reason}
    if kill is not None:
        detail["killed"] = kill.how
        if not kill.gone:
            detail["note"] = kill.note
            answer["note"] = kill.note
    if failure:
        answer["field"], answer["detail"] = failure
        detail["message"] = failure[1]
    if info.get("error"):
        detail["message"] = info["error"]
    row = session.activity
    if row is None:
        activity_record(user=session.actor, action="container.console",
                        outcome=Activity.Outcome.FAILED if failure else Activity.Outcome.OK, host=host,
                        target=session.container_name, detail=detail)
    else:
        row.outcome, row.detail = (Activity.Outcome.FAILED if failure else Activity.Outcome.OK), detail
        row.save(update_fields=["outcome", "detail"])
    return answer
