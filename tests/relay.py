"""A TCP relay that notes what crosses the wire, and slows it down as a real link would.

    python3 tests/relay.py 50 rpyc_client.py      (from the project directory)

runs rpyc_client.py, each of its connections through a relay that holds every
chunk of bytes 25 ms each way (a round trip of 50 ms, a connection's handshake
included); the script sends the bytes it always does, to another port. Then it
says how long the connections took, first connect to last byte back, and for
how much of that a message was on the link: the rest, the programs worked.
`--save FILE` saves what crossed, for the tests. In a program of its own:

    with Relay(7001, delay=0.025) as relay:  # listens on 127.0.0.1:<relay.port>
        ...                                  # a client connects to relay.port
    relay.connections  # [[('out' or 'back', bytes), ...], ...]; b'': that side closed
    relay.duration, relay.on_the_link  # seconds: all of it, and a message on its way
"""

import argparse
import contextlib
import pickle
import queue
import runpy
import socket
import socketserver
import sys
import threading
import time

DIRECT = socket.socket.connect  # the relay's own connections, never relayed


class Relay(socketserver.ThreadingTCPServer):
    """Forwards each connection to a server's port, noting every chunk of bytes."""

    def __init__(self, server_port, delay=0):
        super().__init__(('127.0.0.1', 0), Forward)
        self.port = self.server_address[1]
        self.server_port = server_port
        self.delay = delay
        self.connections = []  # for each connection, its chunks in the order seen
        self.on_its_way = []  # (when a message came, when it is due on the other side)
        self.first_connected = self.last_delivered = None
        self.lock = threading.Lock()

    @property
    def duration(self):
        return self.last_delivered - self.first_connected

    @property
    def on_the_link(self):
        """The seconds of the duration during which a message (the chunks one side sends
        before the other answers) was on its way: from its first chunk until that is due. A
        side slow to send the rest is working; the client's hang-up, nobody waits for."""
        total, until = 0, self.first_connected
        for came, due in sorted(self.on_its_way):
            due = min(due, self.last_delivered)
            if due > until:
                total += due - max(came, until)
                until = due
        return total

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
        with socket.socket() as server:
            DIRECT(server, ('127.0.0.1', self.server.server_port))
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
                self.note(chunks, direction, chunk, deliveries, handshake)
                handshake = 0
        self.note(chunks, direction, b'', deliveries)
        courier.join()

    def note(self, chunks, direction, chunk, deliveries, handshake=0):
        """Note a chunk, and hand it to the courier with the moment it is due."""
        came = time.monotonic()
        due = came + self.server.delay + handshake
        with self.server.lock:
            first_of_a_message = not chunks or chunks[-1][0] != direction
            if first_of_a_message and (chunk or direction == 'back'):
                self.server.on_its_way.append((came, due))
            chunks.append((direction, chunk))
        deliveries.put((due, chunk))

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


def run_through_relays(delay, script, args, relays):
    """Run a script with each port it connects to relayed; fill {port: Relay}."""

    def connect_through_a_relay(sock, address):
        host, port, *rest = address
        if port not in relays:
            relays[port] = held.enter_context(Relay(port, delay))
        return DIRECT(sock, (host, relays[port].port, *rest))

    sys.argv = [script, *args]
    with contextlib.ExitStack() as held:
        socket.socket.connect = connect_through_a_relay
        try:
            runpy.run_path(script, run_name='__main__')
        finally:
            socket.socket.connect = DIRECT


def main():
    parser = argparse.ArgumentParser(description='Run a script over a slow link.')
    parser.add_argument('--save', metavar='FILE', help='save what crossed to FILE (pickle)')
    parser.add_argument('round_trip', type=float, help="the link's round trip, in milliseconds")
    parser.add_argument('script', help='the script to run, and its arguments after it')
    parser.add_argument('args', nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    options = parser.parse_args()
    relays = {}
    try:
        run_through_relays(options.round_trip / 2000, options.script, options.args, relays)
    finally:
        for relay in relays.values():
            count = len(relay.connections)
            connections = '1 connection' if count == 1 else f'{count} connections'
            print(
                f'relay: {connections} to port {relay.server_port} '
                f'took {relay.duration:.2f} s, {relay.on_the_link:.2f} s of it on the link'
            )
        if options.save:
            names = ('connections', 'duration', 'on_the_link')
            saved = {port: {n: getattr(r, n) for n in names} for port, r in relays.items()}
            with open(options.save, 'wb') as file:
                pickle.dump(saved, file)


if __name__ == '__main__':
    main()
