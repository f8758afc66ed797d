#!/usr/bin/env python3
"""A small TCP relay that delays every chunk by a fixed time in both directions.

The build machines' kernel has no netem, so the multi-host test puts latency on a link with
this relay: it listens on --listen, opens a connection to --connect for every client, and
forwards each chunk it reads DELAY ms after it arrived (the chunks are pipelined, so the delay
adds latency, not a bandwidth cap). Its sockets have small kernel buffers and it holds little
data of its own (reading stops while too much waits to be written), so backpressure crosses the
relay as it would cross a link instead of ageing data in the relay.

A client is closed when its upstream connection cannot be made within --connect-timeout, and
when either side closes or fails (after what was already read is delivered).

usage: tcp_delay_relay.py --listen HOST:PORT --connect HOST:PORT [--delay-ms 20]
                          [--connect-timeout 3] [--port-file F]
"""
import argparse
import asyncio
import collections
import os
import socket
import signal
import sys
import time

CHUNK = 8192
SOCK_BUF = 8192  # kernel buffers of the relay's own sockets (the kernel doubles it)
# Bytes a direction may hold between reading and writing. A real link stores nothing when the
# receiver stops reading (the sender's window closes), so the client-to-server direction (a
# worker's transitions, which the learner reads at its own pace) holds little; the other one
# carries the learner's weights frames and may hold a couple of them.
UP_BYTES = 8192
DOWN_BYTES = 1 << 20


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)


def split(hp):
    host, _, port = hp.rpartition(":")
    return host.strip("[]"), int(port)


def small_buffers(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCK_BUF)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCK_BUF)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def pump(reader, writer, delay, limit, name):
    """Reads chunks and writes each one `delay` seconds after it was read, holding at most
    `limit` bytes in between (reading waits when that much is held)."""
    loop = asyncio.get_running_loop()
    q = collections.deque()
    held = 0
    changed = asyncio.Event()
    writer.transport.set_write_buffer_limits(high=SOCK_BUF)

    async def read_side():
        nonlocal held
        try:
            while True:
                while held >= limit:
                    changed.clear()
                    await changed.wait()
                data = await reader.read(CHUNK)
                q.append((loop.time() + delay, data))
                held += len(data)
                changed.set()
                if not data:
                    return
        except (ConnectionError, OSError) as e:
            q.append((loop.time(), b""))
            changed.set()
            log(f"{name}: read: {e}")

    async def write_side():
        nonlocal held
        while True:
            while not q:
                changed.clear()
                await changed.wait()
            due, data = q.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                return
            writer.write(data)
            await writer.drain()
            held -= len(data)
            changed.set()

    rt = asyncio.ensure_future(read_side())
    try:
        await write_side()
    except (ConnectionError, OSError) as e:
        log(f"{name}: write: {e}")
    finally:
        rt.cancel()


async def connect_upstream(host, port, timeout):
    loop = asyncio.get_running_loop()
    info = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, addr = info[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        small_buffers(sock)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, addr), timeout)
        return await asyncio.open_connection(sock=sock, limit=CHUNK // 2)
    except BaseException:
        sock.close()
        raise


async def handle(creader, cwriter, args):
    peer = cwriter.get_extra_info("peername")
    host, port = split(args.connect)
    try:
        ureader, uwriter = await connect_upstream(host, port, args.connect_timeout)
    except (OSError, asyncio.TimeoutError) as e:
        log(f"client {peer}: cannot reach {args.connect}: {e!r}; closing the client")
        cwriter.close()
        return
    log(f"client {peer} -> {args.connect} connected")
    up = asyncio.ensure_future(pump(creader, uwriter, args.delay, UP_BYTES, f"{peer} up"))
    down = asyncio.ensure_future(pump(ureader, cwriter, args.delay, DOWN_BYTES, f"{peer} down"))
    await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    for t in (up, down):
        t.cancel()
    for w in (cwriter, uwriter):
        w.close()
    log(f"client {peer} closed")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--connect", required=True)
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--connect-timeout", type=float, default=3.0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    args.delay = args.delay_ms / 1000.0
    host, port = split(args.listen)
    lsock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    small_buffers(lsock)  # accepted sockets inherit them
    lsock.bind((host, port))
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), sock=lsock, limit=CHUNK // 2)
    bound = server.sockets[0].getsockname()[1]
    log(f"relay {host}:{bound} -> {args.connect}, {args.delay_ms:g} ms each way")
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{bound}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()
    log("relay stopped")


if __name__ == "__main__":
    asyncio.run(main())
