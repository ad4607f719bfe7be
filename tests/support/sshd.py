"""An OpenSSH server (Debian's `openssh-server`) for SFTP repository tests: on 127.0.0.1 at a
free port, with its own config, host key and authorized key in a private folder; stopped by its
own pid on exit."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockerweb-test", "-f", str(path)],
                   check=True)


class Sshd:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        _keygen(folder / "host_key")
        _keygen(folder / "client_key")
        (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
        os.chmod(folder / "authorized_keys", 0o600)
        (folder / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1
Port {self.port}
HostKey {folder / 'host_key'}
PidFile {folder / 'sshd.pid'}
AuthorizedKeysFile {folder / 'authorized_keys'}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel VERBOSE
""")
        self.repos = folder / "repos"
        self.repos.mkdir()

    @property
    def user(self) -> str:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name

    @property
    def client_key(self) -> str:
        return (self.folder / "client_key").read_text()

    @property
    def host_key(self) -> str:
        return (self.folder / "host_key.pub").read_text().strip()

    def location(self, name: str) -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}{self.repos / name}"

    def start(self) -> "Sshd":
        """Start (or start again, same port and keys) the server."""
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        log = open(self.folder / "sshd.log", "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.folder / "sshd_config")],
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen within 10 s")

    def stop(self) -> None:
        """Stop the server and the sessions it forked (found as its descendants first, by pid)."""
        if self.proc is None:
            return
        sessions = _descendants(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
        for pid in sessions:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out
