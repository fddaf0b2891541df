"""Free a closed tab's session: its uploaded photos, drawn images and analyses.

When a browser tab closes, Streamlit keeps the session for ``server.disconnectedSessionTTL``
seconds so that a brief network blip can resume it. But a kept session that expires is only
dropped from a time-limited dict, never shut down: its uploaded files, its media (the images
the page drew, the deferred report with the whole analysis) stay in memory for good, some
20 MB per session that analysed a photo. :func:`track_this_session` records the sessions that
analysed something; a daemon thread closes each one (Streamlit's own ``close_session``, on the
server's event loop) once it has been disconnected for :data:`REAP_AFTER_S` seconds, which
must stay below ``disconnectedSessionTTL`` (60 s in ``.streamlit/config.toml``).

Even a closed session's object can stay referenced for a while (Streamlit's connection
bookkeeping, measured: one in eight still alive 70 s after its tab closed), and with it its
``st.session_state``. So a session also registers *release* callbacks (its kept analyses'
``clear``), which the reaper calls when it closes the session: what they free does not wait
for the session object to go.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from skinapp.memory import release_freed_memory

__all__ = ["REAP_AFTER_S", "reap_disconnected", "track_this_session"]

logger = logging.getLogger(__name__)

#: Seconds a tracked session may stay disconnected before it is closed.
REAP_AFTER_S = 30.0
#: How often the reaper looks.
EVERY_S = 5.0

_LOCK = threading.Lock()
#: session id -> when it was first seen disconnected (None while connected).
_TRACKED: dict[str, float | None] = {}
#: session id -> what to call when it is closed (frees what it keeps).
_RELEASE: dict[str, list[Callable[[], object]]] = {}
_THREAD: threading.Thread | None = None


def track_this_session(*release: Callable[[], object]) -> None:
    """Record the running session so that it is freed after its tab closes; each ``release``
    callable is called then too (once, from the reaper's thread)."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return  # bare mode or AppTest: no server, nothing to free
    global _THREAD
    with _LOCK:
        _TRACKED.setdefault(ctx.session_id, None)
        callbacks = _RELEASE.setdefault(ctx.session_id, [])
        callbacks.extend(r for r in release if r not in callbacks)
        if _THREAD is None:
            _THREAD = threading.Thread(target=_run, name="skinapp-reaper", daemon=True)
            _THREAD.start()


def reap_disconnected(runtime: Runtime, now: float, after_s: float = REAP_AFTER_S) -> list[str]:
    """Close the tracked sessions disconnected for ``after_s`` and call their release
    callbacks; returns their ids."""
    closed, callbacks = [], []
    with _LOCK:
        for session_id, since in list(_TRACKED.items()):
            if runtime.is_active_session(session_id):
                _TRACKED[session_id] = None
            elif since is None:
                _TRACKED[session_id] = now
            elif now - since >= after_s:
                del _TRACKED[session_id]
                closed.append(session_id)
                callbacks += _RELEASE.pop(session_id, [])
    for session_id in closed:
        # Public and thread-safe: marks the session non-resumable and closes it on the
        # event loop if it is not connected (shutdown frees its files and media).
        runtime.clear_user_info_for_session(session_id)
    for release in callbacks:
        try:
            release()
        except Exception:  # one failing callback must not keep the others' memory
            logger.exception("Could not release a closed session's memory")
    return closed


def _run() -> None:
    while True:
        time.sleep(EVERY_S)
        if not Runtime.exists():
            continue
        try:
            if reap_disconnected(Runtime.instance(), time.monotonic()):
                time.sleep(1.0)  # let the event loop shut them down
                gc.collect()  # a session's objects form cycles: free them now, not some day
                release_freed_memory()
        except Exception:  # never let the reaper die: log and go on
            logger.exception("Could not close disconnected sessions")
