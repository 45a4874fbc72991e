"""A counting TCP relay, to see what crosses the wire between client and server.

    with Relay(7001) as relay:   # listens on 127.0.0.1:<relay.port>
        ...                      # point a client at relay.port instead of 7001
    relay.connections            # [[('out' or 'back', bytes), ...], ...]
    relay.duration               # seconds from the first connection to the last byte back

An empty chunk marks the end of a direction: its sender closed it. Given a
delay, the relay is a slow link: each chunk goes on that many seconds after
it came (a round trip takes twice the delay), and a connection's first
chunk a round trip later still, the time a TCP handshake takes.

Run as a program, it runs a script whose connections to one port go to
another instead; only the port changes, so the script sends the same bytes:

    python relay.py PORT RELAY_PORT SCRIPT [ARGS...]
"""

import contextlib
import queue
import runpy
import socket
import socketserver
import sys
import threading
import time


class Relay(socketserver.ThreadingTCPServer):
    """Forwards each connection to a server's port, noting every chunk of bytes."""

    def __init__(self, server_port, delay=0):
        super().__init__(('127.0.0.1', 0), Forward)
        self.port = self.server_address[1]
        self.server_port = server_port
        self.delay = delay
        self.connections = []  # for each connection, its chunks in the order seen
        self.first_connected = self.last_delivered = None
        self.lock = threading.Lock()

    @property
    def duration(self):
        return self.last_delivered - self.first_connected

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
            self.server.first_connected = self.server.first_connected or time.monotonic()
        with socket.create_connection(('127.0.0.1', self.server.server_port)) as server:
            for sock in (self.request, server):  # the relay adds no wait but its delay
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            answers = threading.Thread(
                target=self.pump, args=(server, self.request, 'back', chunks)
            )
            answers.start()
            self.pump(self.request, server, 'out', chunks, handshake=2 * self.server.delay)
            answers.join()

    def pump(self, source, destination, direction, chunks, handshake=0):
        """Pass bytes on until the source is done; note each chunk as it comes."""
        deliveries = queue.Queue()
        courier = threading.Thread(target=self.deliver, args=(deliveries, destination, direction))
        courier.start()
        with contextlib.suppress(OSError):  # a reset ends this direction too
            while chunk := source.recv(65536):
                self.note(chunks, direction, chunk)
                deliveries.put((time.monotonic() + self.server.delay + handshake, chunk))
                handshake = 0
        self.note(chunks, direction, b'')
        deliveries.put((time.monotonic() + self.server.delay, b''))
        courier.join()

    def note(self, chunks, direction, chunk):
        with self.server.lock:
            chunks.append((direction, chunk))

    def deliver(self, deliveries, destination, direction):
        """Send each chunk when it is due, in order; an empty one closes the direction."""
        while True:
            due, chunk = deliveries.get()
            time.sleep(max(0, due - time.monotonic()))  # the link's delay
            with contextlib.suppress(OSError):
                if chunk:
                    destination.sendall(chunk)
                else:
                    destination.shutdown(socket.SHUT_WR)
            if direction == 'back':  # what the client waits for
                with self.server.lock:
                    self.server.last_delivered = time.monotonic()
            if not chunk:
                return


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
