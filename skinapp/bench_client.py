"""A Streamlit session without a browser, for the load run (:mod:`skinapp.bench_load`).

It speaks Streamlit's own protocol, as its frontend does: a WebSocket to ``/_stcore/stream``
carrying ``BackMsg`` / ``ForwardMsg`` protocol buffers, and an HTTP PUT of the photo to the
upload URL the server hands out. One session opens the app (its default page, Diagnose),
uploads a photo to the uploader whose label it is given, and times until the server has
sent the element that shows the result (a metric labelled "Risk grade"). Nothing is drawn,
so the time is the server's (and the loopback's) alone: what a browser elsewhere would wait
for before drawing. A browser on the same two cores as the server measures its own drawing
too (:func:`skinapp.bench_load.run_load` with the ``"browser"`` client).
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

XSRF_COOKIE = "_streamlit_xsrf"


class ProtocolError(RuntimeError):
    """The server did not answer as a Streamlit app does (e.g. no uploader on the page)."""


@dataclass
class PageState:
    """What one script run told the client: the session, the page, and the widgets."""

    session_id: str = ""
    page_script_hash: str = ""
    uploaders: dict[str, str] = field(default_factory=dict)  # label -> widget id
    metrics: list[str] = field(default_factory=list)  # labels, in order
    problems: list[str] = field(default_factory=list)  # exception and error texts


def _xsrf_cookie(url: str) -> str | None:
    """The XSRF cookie the app sets with its health answer (None when XSRF protection is
    off)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            morsel = SimpleCookie(header).get(XSRF_COOKIE)
            if morsel is not None:
                return morsel.value
    return None


def _put_file(url: str, name: str, data: bytes, mime: str, cookie: str | None) -> None:
    """PUT one file as the frontend does (multipart field ``file``)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if cookie is not None:
        headers |= {"Cookie": f"{XSRF_COOKIE}={cookie}", "X-Xsrftoken": cookie}
    request = urllib.request.Request(url, data=body, headers=headers, method="PUT")
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status not in (200, 204):
            raise ProtocolError(f"upload answered HTTP {response.status}")


class Session:
    """One browserless session of the app at ``url`` (``http://host:port``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.state = PageState()
        self._ws = None
        self._cookie: str | None = None

    async def open(self) -> PageState:
        """Connect and run the default page once; its state (widgets) is returned."""
        import websockets

        self._cookie = await asyncio.to_thread(_xsrf_cookie, self.url + "/_stcore/health")
        protocols = ["streamlit"] + ([self._cookie] if self._cookie else [])
        self._ws = await websockets.connect(
            "ws" + self.url.removeprefix("http") + "/_stcore/stream",
            subprotocols=protocols,
            origin=self.url,
            additional_headers={"Cookie": f"{XSRF_COOKIE}={self._cookie}"}
            if self._cookie
            else None,
            max_size=None,
            compression=None,
        )
        await self._rerun([])
        return await self._until_finished()

    async def upload(self, label: str, name: str, data: bytes, mime: str = "image/jpeg") -> None:
        """Put ``data`` in the uploader labelled ``label`` (the page reruns with it)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id = self.state.uploaders.get(label)
        if widget_id is None:
            raise ProtocolError(f"no uploader labelled {label!r} on the page")
        request_id = uuid.uuid4().hex
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.file_names.append(name)
        msg.file_urls_request.session_id = self.state.session_id
        await self._ws.send(msg.SerializeToString())
        urls = await self._file_urls(request_id)
        await asyncio.to_thread(
            _put_file, self.url + urls.upload_url, name, data, mime, self._cookie
        )
        widget = WidgetState(id=widget_id)
        info = widget.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        self.state.metrics.clear()
        self.state.problems.clear()
        await self._rerun([widget])

    async def wait_for_metric(self, label: str) -> PageState:
        """Read the rerun's messages until a metric labelled ``label`` (or a problem, or the
        end of the run) has arrived."""
        return await self._until_finished(metric=label)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    # --- messages ---

    async def _rerun(self, widgets: list) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.state.page_script_hash
        msg.rerun_script.widget_states.widgets.extend(widgets)
        msg.rerun_script.context_info.timezone = "UTC"
        msg.rerun_script.context_info.url = self.url + "/"
        await self._ws.send(msg.SerializeToString())

    async def _file_urls(self, request_id: str):
        while True:
            msg = await self._receive()
            if msg.WhichOneof("type") == "file_urls_response":
                response = msg.file_urls_response
                if response.response_id == request_id:
                    if response.error_msg or not response.file_urls:
                        raise ProtocolError(response.error_msg or "no upload URL")
                    return response.file_urls[0]

    async def _until_finished(self, metric: str | None = None) -> PageState:
        while True:
            msg = await self._receive()
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.state.session_id = msg.new_session.initialize.session_id
                self.state.page_script_hash = msg.new_session.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._note(msg.delta.new_element)
                if self.state.problems or (metric is not None and metric in self.state.metrics):
                    return self.state
            elif kind == "script_finished":
                return self.state

    def _note(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "file_uploader":
            self.state.uploaders[element.file_uploader.label] = element.file_uploader.id
        elif kind == "metric":
            self.state.metrics.append(element.metric.label)
        elif kind == "exception":
            self.state.problems.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.state.problems.append(element.alert.body)

    async def _receive(self):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        msg.ParseFromString(await self._ws.recv())
        return msg


async def time_upload(
    url: str, label: str, photo: bytes, ready: asyncio.Queue, start: asyncio.Event
) -> tuple[float | None, str | None]:
    """One load-run session: open, report ready, wait for ``start``, upload ``photo`` to the
    uploader ``label``, and time until "Risk grade" arrives. ``(seconds, None)`` or
    ``(None, reason)``."""
    session = Session(url)
    try:
        await session.open()
        await ready.put(1)
        await start.wait()
        t0 = time.perf_counter()
        await session.upload(label, "lesion.jpg", photo)
        state = await session.wait_for_metric("Risk grade")
        if state.problems:
            return None, state.problems[0][:200]
        if "Risk grade" not in state.metrics:
            return None, "the run ended without a risk grade"
        return time.perf_counter() - t0, None
    except Exception as err:  # a failed session is a result of the run, not a crash
        return None, f"{type(err).__name__}: {err}"[:200]
    finally:
        await session.close()


__all__ = ["PageState", "ProtocolError", "Session", "time_upload"]
