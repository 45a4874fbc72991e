"""A counting TCP relay, to see what crosses the wire between client and server.

    with Relay(7001) as relay:   # listens on 127.0.0.1:<relay.port>
        ...                      # point a client at relay.port instead of 7001
    relay.connections            # [[('out' or 'back', bytes), ...], ...]

Run as a program, it runs a script whose connections to one port go to
another instead; only the port changes, so the script sends the same bytes:

    python relay.py PORT RELAY_PORT SCRIPT [ARGS...]
"""

import contextlib
import runpy
import socket
import socketserver
import sys
import threading


class Relay(socketserver.ThreadingTCPServer):
    """Forwards each connection to a server's port, noting every chunk of bytes."""

    def __init__(self, server_port):
        super().__init__(('127.0.0.1', 0), Forward)
        self.port = self.server_address[1]
        self.server_port = server_port
        self.connections = []  # for each connection, its chunks in the order seen
        self.lock = threading.Lock()

    def __enter__(self):
        threading.Thread(target=self.serve_forever, kwargs={'poll_interval': 0.01}).start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()  # waits for every connection's thread to end


class Forward(socketserver.BaseRequestHandler):
    def handle(self):
        chunks = []
        with self.server.lock:
            self.server.connections.append(chunks)
        with socket.create_connection(('127.0.0.1', self.server.server_port)) as server:
            answers = threading.Thread(
                target=self.pump, args=(server, self.request, 'back', chunks)
            )
            answers.start()
            self.pump(self.request, server, 'out', chunks)
            answers.join()

    def pump(self, source, destination, direction, chunks):
        """Pass bytes on until the source is done; note each chunk before it goes on."""
        with contextlib.suppress(OSError):  # a reset ends this direction too
            while chunk := source.recv(65536):
                with self.server.lock:
                    chunks.append((direction, chunk))
                destination.sendall(chunk)
        with contextlib.suppress(OSError):
            destination.shutdown(socket.SHUT_WR)


def run_through_relay(port, relay_port, script, *args):
    connect = socket.socket.connect

    def connect_through_relay(sock, address):
        if address[1] == port:
            address = (address[0], relay_port, *address[2:])
        return connect(sock, address)

    socket.socket.connect = connect_through_relay
    sys.argv = [script, *args]
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    port, relay_port, script, *args = sys.argv[1:]
    run_through_relay(int(port), int(relay_port), script, *args)
