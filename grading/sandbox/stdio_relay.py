"""A kernel's ZeroMQ sockets carried over a container's attached stdin and stdout.

Why a relay: the grader may itself run in a container (the hub image, talking to the
engine through the mounted Docker socket). A folder of the grader's filesystem is not a
host path, so it cannot be bind-mounted into the sandbox, and the kernel's IPC sockets
cannot live in a shared folder. The attach stream of the container's stdio is the one
channel the engine gives both ends wherever they run, and it needs no network: the sandbox
keeps ``network_mode: none``.

Both ends are here, because they speak one record format: a channel byte and a frame
count, then each frame with its length. Channel 0 is the sandbox's own (the kernel's
connection info, the submission's files, "ready"); the others are the kernel's channels.

* :func:`serve_sandbox` runs inside the sandbox, on a thread of the boot code: it connects
  to the kernel's sockets and relays them over fds 0 and 1. The boot code receives this
  module's source and executes it, since the sandbox cannot import ``grading``; hence the
  imports here are the runtime's and pyzmq only (``docker`` is imported where it is used).
* :func:`serve_grader` runs in the grader's launcher process (``python -I -c`` with this
  source, to avoid the seconds it takes to import ``grading``): it creates the container
  with the Docker SDK, attaches, starts it, and binds the kernel's sockets in the grader's
  own connection folder, so the grader's kernel client sees an ordinary IPC kernel. It
  exits with the container's status (137 when the memory limit killed it) and removes it.

The relay is no more trusted than the kernel it carries: student code can forge messages
either way, which is why the grader checks results from outside (``grading/README.md``).
"""

import json
import os
import struct
import sys
from socket import SHUT_RDWR

import zmq

#: The sandbox's own messages travel on channel 0.
SANDBOX = 0
#: The kernel's channels, by the connection file's key, and their record channel.
CHANNELS = {"shell_port": 1, "control_port": 2, "stdin_port": 3, "hb_port": 4, "iopub_port": 5}
IOPUB = CHANNELS["iopub_port"]
#: A record larger than this ends the relay: nothing honest sends it, and the grader's end
#: must not buffer whatever a sandbox cares to stream.
MAX_RECORD = 64 * 1024 * 1024
_HEADER = struct.Struct("!BI")
_LENGTH = struct.Struct("!I")
#: Docker's header before each chunk of a non-TTY attach stream: stream type, size.
_DOCKER_HEADER = struct.Struct(">BxxxL")
_DOCKER_STDOUT, _DOCKER_STDERR = 1, 2


def encode(channel, frames):
    """One record: ``channel``'s message of ``frames``."""
    parts = [_HEADER.pack(channel, len(frames))]
    for frame in frames:
        parts += [_LENGTH.pack(len(frame)), frame]
    return b"".join(parts)


class RecordReader:
    """Cuts a byte stream back into records, however the stream was split in transit."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data):
        """The records completed by ``data``, as ``(channel, frames)`` pairs."""
        self.buffer += data
        records = []
        while True:
            record = self._next()
            if record is None:
                return records
            records.append(record)

    def _next(self):
        buffer = self.buffer
        if len(buffer) < _HEADER.size:
            return None
        channel, count = _HEADER.unpack_from(buffer)
        offset, frames = _HEADER.size, []
        for _ in range(count):
            if len(buffer) < offset + _LENGTH.size:
                return None
            (size,) = _LENGTH.unpack_from(buffer, offset)
            offset += _LENGTH.size
            if offset + size > MAX_RECORD:
                raise ValueError(f"relay record over {MAX_RECORD} bytes")
            if len(buffer) < offset + size:
                return None
            frames.append(bytes(buffer[offset:offset + size]))
            offset += size
        del buffer[:offset]
        return channel, frames


class Relay:
    """Moves messages between ZeroMQ sockets and one byte stream until the stream ends.

    ``read`` returns the stream's next bytes (``None`` once it has ended) and ``write``
    sends bytes on it. Sends to sockets never block: a peer that stopped reading loses
    messages instead of stalling every other channel.
    """

    def __init__(self, read, write):
        self.read = read
        self.write = write
        self.poller = zmq.Poller()
        self.sockets = {}
        self.channels = {}
        self.watched = {}

    def carry(self, channel, socket):
        """Relay ``socket``'s messages as ``channel`` from now on."""
        self.sockets[channel] = socket
        self.channels[socket] = channel
        self.poller.register(socket, zmq.POLLIN)

    def watch(self, fd, handler):
        """Call ``handler()`` whenever ``fd`` is readable; it returns False to stop watching."""
        self.watched[fd] = handler
        self.poller.register(fd, zmq.POLLIN)

    def send(self, channel, frames):
        self.write(encode(channel, frames))

    def run(self, stream_fd, on_sandbox):
        """Relay until the stream ends; sandbox records go to ``on_sandbox(frames)``."""
        reader = RecordReader()
        self.poller.register(stream_fd, zmq.POLLIN)
        while True:
            for item, _ in self.poller.poll():
                if item == stream_fd:
                    data = self.read()
                    if data is None:
                        return
                    for channel, frames in reader.feed(data):
                        if channel == SANDBOX:
                            on_sandbox(frames)
                        elif channel in self.sockets:
                            try:
                                self.sockets[channel].send_multipart(frames, zmq.NOBLOCK)
                            except zmq.Again:
                                pass
                elif item in self.watched:
                    if not self.watched[item]():
                        self.poller.unregister(item)
                        del self.watched[item]
                else:
                    self.send(self.channels[item], item.recv_multipart())


def _ipc_address(ip, port):
    return f"ipc://{ip}-{port}"


def serve_sandbox(connection_file, in_fd, out_fd, take_files):
    """Inside the sandbox: relay the kernel of ``connection_file`` over ``in_fd``/``out_fd``.

    ``take_files(request)`` writes the submission's files; "ready" follows once it returns.
    """
    with open(connection_file) as file:
        info = json.load(file)
    context = zmq.Context()

    def read():
        return os.read(in_fd, 65536) or None

    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(out_fd, view):]

    relay = Relay(read, write)
    for name, channel in CHANNELS.items():
        socket = context.socket(zmq.SUB if channel == IOPUB else zmq.DEALER)
        if channel == IOPUB:
            socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(_ipc_address(info["ip"], info[name]))
        relay.carry(channel, socket)

    def on_sandbox(frames):
        if frames[:1] == [b"files"] and len(frames) == 2:
            take_files(json.loads(frames[1] or b"{}"))
            relay.send(SANDBOX, [b"ready"])

    relay.send(SANDBOX, [b"kernel", json.dumps(info).encode()])
    relay.run(in_fd, on_sandbox)


class _AttachStream:
    """The grader's end of a container's attach socket.

    Docker frames a non-TTY attach stream by stream: stdout carries the records, stderr
    is the boot log (the launcher's own stderr).
    """

    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()

    def read(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return None
        self.buffer += chunk
        records = bytearray()
        while len(self.buffer) >= _DOCKER_HEADER.size:
            kind, size = _DOCKER_HEADER.unpack_from(self.buffer)
            if size > MAX_RECORD:
                raise ValueError(f"attach chunk over {MAX_RECORD} bytes")
            end = _DOCKER_HEADER.size + size
            if len(self.buffer) < end:
                break
            payload = bytes(self.buffer[_DOCKER_HEADER.size:end])
            del self.buffer[:end]
            if kind == _DOCKER_STDOUT:
                records += payload
            elif kind == _DOCKER_STDERR:
                os.write(2, payload)
        return bytes(records)

    def write(self, data):
        self.sock.sendall(data)


def serve_grader(spec):
    """The grader's launcher: run the container of ``spec``, relay it, exit with its status."""
    import docker

    api = docker.APIClient(version="auto", timeout=60)
    try:
        container = api.create_container(
            **spec["create"], host_config=api.create_host_config(**spec["host_config"]))
        attached = api.attach_socket(
            container, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        api.start(container)
    except docker.errors.DockerException as error:
        print(f"Docker: {error}", file=sys.stderr, flush=True)
        return 1
    conn_dir = spec["conn_dir"]
    sock = attached._sock
    stream = _AttachStream(sock)
    relay = Relay(stream.read, stream.write)
    context = zmq.Context()
    files = bytearray()

    def forward_files():
        data = os.read(0, 65536)
        if data:
            files.extend(data)
            return True
        relay.send(SANDBOX, [b"files", bytes(files)])
        return False

    def on_sandbox(frames):
        if frames[:1] == [b"kernel"] and len(frames) == 2:
            info = json.loads(frames[1])
            for name, channel in CHANNELS.items():
                socket = context.socket(zmq.PUB if channel == IOPUB else zmq.ROUTER)
                socket.bind(_ipc_address(os.path.join(conn_dir, "ipc"), int(info[name])))
                relay.carry(channel, socket)
            temporary = os.path.join(conn_dir, "kernel.json.part")
            with open(temporary, "w") as file:
                json.dump(info, file)
            os.replace(temporary, os.path.join(conn_dir, "kernel.json"))
        elif frames == [b"ready"]:
            open(os.path.join(conn_dir, "ready"), "w").close()

    relay.watch(0, forward_files)
    try:
        relay.run(sock.fileno(), on_sandbox)
    except (OSError, ValueError) as error:
        print(f"relay: {error}", file=sys.stderr, flush=True)
    # Hang up first: the engine does not finish removing a container while its output waits
    # for a reader.
    try:
        sock.shutdown(SHUT_RDWR)
    except OSError:
        pass  # the engine hung up first
    try:
        state = api.inspect_container(container)["State"]
        status = 137 if state["OOMKilled"] or state["Running"] else state["ExitCode"]
        api.remove_container(container, force=True)
    except docker.errors.DockerException:
        status = 137  # removed from outside: the grader killed it
    return status


if __name__ == "__main__":
    sys.exit(serve_grader(json.loads(sys.argv[1])))
