"""Serve one simulated SCPI instrument on a raw TCP socket, like an LXI instrument's port 5025.

Newline-terminated messages in, newline-terminated replies out. Several clients may be connected
at once (as on a LAN instrument; they share one parser state and error queue). The instrument
model lives as long as the server object, across client connections and across ``stop()`` /
``start()`` — so a device service can crash and reconnect and find the instrument as it left it.

From Python::

    server = ScpiServer(Keithley2410Model())
    port = server.start()          # background thread; port 0 = any free port
    ...                            # TCPIP::127.0.0.1::<port>::SOCKET
    server.stop()

From the command line (runs until SIGTERM/SIGINT)::

    python -m labdcs_dummy.scpi_server --model keithley2410 --host 127.0.0.1 --port 5025 \
        [--port-file run/hv.port] [--seed 1] [--load 1e9] [--channels 2]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import socketserver
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from labdcs_dummy.instruments import MODEL_NAMES, ScpiInstrument, create_model

log = logging.getLogger(__name__)

#: Longest line accepted from a client; anything longer is a broken client, not SCPI.
MAX_LINE = 64 * 1024


class _Handler(socketserver.StreamRequestHandler):
    server: _TcpServer
    disable_nagle_algorithm = True  # one reply per query: send it now

    def handle(self) -> None:
        host, port = self.client_address[:2]
        peer = f"{host}:{port}"
        owner = self.server.owner
        log.info("%s: connection from %s", owner.name, peer)
        owner._track(self.connection, add=True)
        try:
            while True:
                raw = self.rfile.readline(MAX_LINE)
                if not raw:
                    break
                line = raw.decode("latin-1").rstrip("\r\n")
                reply = owner.instrument.handle(line)
                if reply is not None:
                    self.wfile.write(reply.encode("latin-1") + b"\n")
                    self.wfile.flush()
        except OSError as exc:  # client vanished or the server is stopping
            log.debug("%s: connection from %s ended: %s", owner.name, peer, exc)
        finally:
            owner._track(self.connection, add=False)
            log.info("%s: %s disconnected", owner.name, peer)


class _TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # restart on the same port while old sockets sit in TIME_WAIT
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: ScpiServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class ScpiServer:
    """One instrument model behind a TCP listening socket."""

    def __init__(self, instrument: ScpiInstrument, host: str = "127.0.0.1", port: int = 0) -> None:
        self.instrument = instrument
        self.host = host
        self._requested_port = port
        self._server: _TcpServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        self.name = type(instrument).__name__

    @property
    def port(self) -> int:
        """The bound port (after start(); a restart binds the same port again)."""
        if self._server is not None:
            return int(self._server.server_address[1])
        return self._requested_port

    @property
    def resource(self) -> str:
        """The VISA resource string a driver uses to reach this server."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> int:
        """Listen and serve in a background thread; returns the bound port."""
        if self._server is not None:
            return self.port
        server = _TcpServer((self.host, self._requested_port), self)
        self._server = server
        self._requested_port = int(server.server_address[1])  # so that a restart keeps the port
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"scpi-{self.name}", daemon=True
        )
        self._thread.start()
        log.info("%s: listening on %s:%d", self.name, self.host, self.port)
        return self.port

    def stop(self) -> None:
        """Stop listening and drop every client connection (the model keeps its state)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(OSError):  # already gone
                client.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        log.info("%s: stopped", self.name)

    def _track(self, client: socket.socket, add: bool) -> None:
        with self._clients_lock:
            if add:
                self._clients.add(client)
            else:
                self._clients.discard(client)

    def __enter__(self) -> ScpiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _write_port_file(path: Path, port: int) -> None:
    """Write atomically, so a reader never sees an empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{port}\n", encoding="ascii")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labdcs_dummy.scpi_server", description="Serve a simulated SCPI instrument over TCP."
    )
    parser.add_argument("--model", required=True, choices=MODEL_NAMES, help="instrument to simulate")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5025, help="TCP port; 0 picks a free one (default 5025)")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--seed", type=int, help="seed of the noise generator (reproducible readings)")
    parser.add_argument("--load", type=float, help="load resistance in ohm (supplies; all channels)")
    parser.add_argument("--channels", type=int, help="number of sensor heads (envmon)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options: dict[str, Any] = {}
    if args.load is not None:
        if args.model == "envmon":
            parser.error("--load applies to supplies, not envmon")
        options["load_ohm"] = args.load
    if args.channels is not None:
        if args.model != "envmon":
            parser.error("--channels applies to envmon only")
        options["channels"] = args.channels
    server = ScpiServer(create_model(args.model, seed=args.seed, **options), host=args.host, port=args.port)
    try:
        port = server.start()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", args.host, args.port, exc)
        return 1

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.port_file is not None:
        _write_port_file(args.port_file, port)
    print(f"{args.model} simulator listening on {args.host}:{port}", flush=True)
    while not stopping.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
