"""A loopback TCP endpoint in front of an engine's unix socket, optionally TLS with client
certificates (what `dockerd --tlsverify -H tcp://…` offers), so that tcp:// and TLS hosts are
tested against the real engine without touching the engine's own configuration."""
from __future__ import annotations

import select
import socket
import ssl
import subprocess
import threading
from pathlib import Path


def make_certs(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dw-test-ca",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (folder / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
    for who, ext in (("server", "san.cnf"), ("client", "client.cnf")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=dw-test-{who}", "-keyout", f"{who}-key.pem",
            "-out", f"{who}.csr")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", f"{who}.pem")
    return {name: folder / f"{name}.pem" for name in ("ca", "server", "server-key", "client", "client-key")}


class TcpProxy:
    """Listens on 127.0.0.1:<port> and pipes each connection to the unix socket `target`."""

    def __init__(self, target: str, certs: dict[str, Path] | None = None):
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.ctx = None
        if certs:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certs["server"], certs["server-key"])
            self.ctx.load_verify_locations(certs["ca"])
            self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, conn):
        try:
            if self.ctx is not None:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        socks = [conn, upstream]
        try:
            while not self.closed:
                # TLS may hold decrypted bytes that select cannot see.
                ready = [conn] if isinstance(conn, ssl.SSLSocket) and conn.pending() else select.select(socks, [], [], 0.5)[0]
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is conn else conn).sendall(data)
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()
            upstream.close()

    def close(self):
        self.closed = True
        self.listener.close()
