"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the fleet benchmark.

Why not requests or aiohttp: the fleet holds 10,000 connections in one process, one per lock,
and general clients share a pool of connections behind a limit (aiohttp's connector allows 100
at a time unless told otherwise), which is exactly what the fleet must not have. This client is one connection and nothing else: one
request at a time, a whole-request deadline, Content-Length or chunked bodies. It is not a
general HTTP client (no redirects, no TLS, no pipelining)."""
import asyncio


class HTTPError(Exception):
    """The connection broke, timed out, or the peer spoke something that is not HTTP/1.1."""


class Connection:
    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.reader = None
        self.writer = None

    @property
    def is_open(self):
        return self.writer is not None

    async def open(self, timeout):
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), timeout)
        except (OSError, asyncio.TimeoutError) as error:
            self.close()
            raise HTTPError(f"connect: {type(error).__name__}") from error

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, headers, body=None, timeout=15.0, on_sent=None):
        """Returns (status, body bytes). Any failure closes the connection and raises HTTPError;
        the caller opens a new one. `on_sent()` is called once the request is handed to the
        kernel (the benchmark's send timestamp)."""
        if not self.is_open:
            raise HTTPError("not connected")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        try:
            return await asyncio.wait_for(self._exchange(head + (body or b""), on_sent), timeout)
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ValueError) as error:
            self.close()
            raise HTTPError(type(error).__name__) from error

    async def _exchange(self, data, on_sent):
        self.writer.write(data)
        await self.writer.drain()
        if on_sent:
            on_sent()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        if not version.startswith("HTTP/1."):
            raise ValueError("not HTTP/1.x")
        fields = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            payload = await self._chunked()
        else:
            payload = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close" or version == "HTTP/1.0":
            self.close()
        return int(status), payload

    async def _chunked(self):
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent to us
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
