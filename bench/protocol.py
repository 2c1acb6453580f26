"""A Streamlit client without a browser: one websocket session per simulated user, speaking the app's protocol.

A browser opens `/_stcore/stream` with the subprotocol list ["streamlit", xsrf token, previous session id]
(streamlit/web/server/starlette/starlette_websocket.py), then sends a BackMsg `rerun_script` carrying a
ClientState: the page's query string, the page name from the URL path, the widget values it holds and the
hashes of big messages it has cached. The server answers with ForwardMsgs (new_session, deltas,
page_info_changed, ...) and ends each run with `script_finished`. This module does the same with Streamlit's
own protobuf classes and times every rerun from the request to `script_finished`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
WIDGET_PREFIX = "$$ID-"  # streamlit.elements.lib.utils.GENERATED_ELEMENT_ID_PREFIX


@dataclass
class Widget:
    """A widget the last run drew: its element type, id and the proto (for options, bounds)."""

    kind: str
    id: str
    proto: object


@dataclass
class RunResult:
    """One rerun as the user saw it: which page, how long, what went wrong, how much came back."""

    page: str
    seconds: float
    errors: list[str] = field(default_factory=list)
    messages: int = 0
    elements: int = 0
    bytes: int = 0
    restarts: int = 0  # runs that ended early for a rerun (st.rerun()) before this one finished


def user_key(element_id: str) -> str | None:
    """The key= a widget was given, from its id ("$$ID-<hash>-<key>"), or None for an unkeyed widget."""
    if not element_id.startswith(WIDGET_PREFIX):
        return None
    key = element_id[len(WIDGET_PREFIX):].split("-", 1)[-1]
    return None if key == "None" else key


class Session:
    """One browser tab's worth of Streamlit session over a websocket."""

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.ws_url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.timeout = timeout
        self.session_id = ""
        self.page = ""  # url path of the current page; "" is the default page
        self.query = ""
        self.widgets: dict[str, Widget] = {}  # by user key, from the last run
        self.values: dict[str, WidgetState] = {}  # by widget id: what this user has set
        self.cached: set[str] = set()  # hashes of cacheable messages, as the browser's message cache
        self.page_hashes: dict[str, str] = {}  # url path -> page script hash, from the navigation message
        self._ws = None

    async def connect(self) -> None:
        """Open the websocket the way the frontend does (subprotocol "streamlit"; no xsrf token, no old session)."""
        from websockets.asyncio.client import connect

        self._ws = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout,
                                 ping_interval=None)

    async def close(self) -> None:
        """Close the websocket; the server then drops the session."""
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    def _back_msg(self) -> bytes:
        """The rerun_script BackMsg for the current page, query string and widget values."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        state.page_script_hash = self.page_hashes.get(self.page, "")  # as a click in the page menu sends
        state.widget_states.widgets.extend(self.values.values())
        state.cached_message_hashes.extend(sorted(self.cached))
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        return msg.SerializeToString()

    async def rerun(self, label: str) -> RunResult:
        """Send a rerun and read until the script finishes; the time from request to script_finished."""
        assert self._ws is not None, "connect() first"
        started = time.perf_counter()
        await self._ws.send(self._back_msg())
        result = RunResult(label, 0.0)
        seen: dict[str, Widget] = {}
        while True:
            data = await asyncio.wait_for(self._ws.recv(), self.timeout)
            result.messages += 1
            result.bytes += len(data)
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if fwd.metadata.cacheable and fwd.hash:
                self.cached.add(fwd.hash)
            if kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id or self.session_id
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                result.elements += 1
                self._element(fwd.delta.new_element, seen, result.errors)
            elif kind == "ref_hash":
                result.elements += 1  # an element the client already has: the server sent only its hash
            elif kind == "navigation":
                self.page_hashes = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string  # sync_url rewrote the link
            elif kind == "page_not_found":
                result.errors.append(f"page not found: {fwd.page_not_found.page_name}")
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    result.restarts += 1
                    continue  # st.rerun(): the run goes on
                if fwd.script_finished not in FINISHED_OK:
                    result.errors.append(f"script finished with status {fwd.script_finished}")
                break
        result.seconds = time.perf_counter() - started
        self.widgets = seen
        live = {w.id for w in seen.values()}
        self.values = {i: v for i, v in self.values.items() if i in live}  # the browser sends mounted widgets only
        return result

    @staticmethod
    def _element(element, seen: dict[str, Widget], errors: list[str]) -> None:
        """Note widgets and errors of one new element."""
        kind = element.WhichOneof("type")
        if kind == "exception":
            errors.append(f"exception: {element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            errors.append(f"error alert: {element.alert.body[:200]}")
        elif kind:
            proto = getattr(element, kind)
            element_id = getattr(proto, "id", "") if hasattr(proto, "DESCRIPTOR") and "id" in \
                proto.DESCRIPTOR.fields_by_name else ""
            key = user_key(element_id) if element_id else None
            if key:
                seen[key] = Widget(kind, element_id, proto)

    async def open(self, page: str, query: str = "") -> RunResult:
        """Open a page by its url path with a query string, as typing a link (widget values are kept by key)."""
        self.page, self.query = page, query
        return await self.rerun(page or "overview")  # "" is the default page (the Overview at "/")

    async def set_widget(self, key: str, label: str, **value) -> RunResult:
        """Change a keyed widget of the current page (e.g. double_array_value=[10.0]) and rerun."""
        widget = self.widgets.get(key)
        if widget is None:
            raise KeyError(f"no widget with key {key!r} on page {self.page!r}: {sorted(self.widgets)}")
        state = WidgetState(id=widget.id)
        name, v = next(iter(value.items()))
        if name.endswith("_array_value"):
            getattr(state, name).data.extend(v)
        else:
            setattr(state, name, v)
        self.values[widget.id] = state
        return await self.rerun(label)


@dataclass
class Step:
    """One step of a user's path: open a page, or change a widget on the page now open."""

    label: str
    page: str | None = None  # open this page (url path)
    key: str | None = None  # or change this widget
    values: tuple[dict, ...] = ()  # to these values in turn, one per round of the path


def multiselect_first(session: Session, key: str) -> dict:
    """The value that picks the first option of a multiselect (its formatted label, as the browser sends)."""
    options = list(session.widgets[key].proto.options)
    return {"string_array_value": options[:1]}


PATH = [
    Step("overview", page=""),
    Step("overview+filter", key="f_regions", values=({"string_array_value": "first"},)),
    Step("funnel", page="funnel"),
    Step("targets", page="targets"),
    Step("whatif", page="whatif"),
    Step("whatif+slider", key="wi_tgt", values=({"double_array_value": [10.0]}, {"double_array_value": [-5.0]})),
    Step("leaderboard", page="leaderboard"),
    Step("leaderboard-filter", key="f_regions", values=({"string_array_value": []},)),
]


async def do_step(session: Session, step: Step, round_no: int = 0) -> RunResult:
    """Carry out one step of the path (a widget step takes the value of this round)."""
    if step.page is not None:
        return await session.open(step.page, session.query)
    assert step.key and step.values
    value = step.values[round_no % len(step.values)]
    if value.get("string_array_value") == "first":
        value = multiselect_first(session, step.key)
    return await session.set_widget(step.key, step.label, **value)


async def user(base_url: str, until: float, think: float, seed: int, results: list[RunResult],
               start: int = 0, path: list[Step] = PATH) -> None:
    """One simulated user: connect (the Overview), then walk the path round and round from step `start` with
    think time, until time is up."""
    rng = random.Random(seed)
    session = Session(base_url)
    k = start
    try:
        await session.connect()
        results.append(await session.open(""))  # the browser's first run on opening the app
        while time.monotonic() < until:
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
                if time.monotonic() >= until:
                    break
            step, round_no = path[k % len(path)], k // len(path)
            k += 1
            if step.page is None and step.key not in session.widgets:
                continue  # the page drew no such widget (e.g. a role without the What-if sliders)
            try:
                results.append(await do_step(session, step, round_no))
            except Exception as exc:  # a timeout or a dropped socket is an error of this step
                results.append(RunResult(step.label, 0.0, [f"{type(exc).__name__}: {str(exc)[:200]}"]))
                await session.close()
                session = Session(base_url)
                await session.connect()
                results.append(await session.open(""))
    except Exception as exc:
        results.append(RunResult("connect", 0.0, [f"{type(exc).__name__}: {str(exc)[:200]}"]))
    finally:
        await session.close()


async def walk_once(base_url: str, path: list[Step] = PATH) -> list[RunResult]:
    """One user walks the path once without pausing (a warm-up: every page drawn once by the server)."""
    session = Session(base_url)
    await session.connect()
    try:
        out = [await session.open("")]
        for step in path:
            if step.page is not None or step.key in session.widgets:
                out.append(await do_step(session, step))
        return out
    finally:
        await session.close()


async def users(base_urls: list[str], n: int, seconds: float, think: float, ramp: float = 0.0) -> list[RunResult]:
    """n users together for some seconds (each starting after a share of the ramp-up; user i on server i mod the
    number of servers, as a sticky load balancer would place them); every rerun they saw."""
    results: list[RunResult] = []
    until = time.monotonic() + seconds

    async def start(i: int) -> None:
        await asyncio.sleep(ramp * i / max(n, 1))
        # users start at different pages of the path, so even a short run on a slow machine opens every page
        pages = [k for k, step in enumerate(PATH) if step.page is not None]
        await user(base_urls[i % len(base_urls)], until, think, seed=i, results=results, start=pages[i % len(pages)])

    await asyncio.gather(*(start(i) for i in range(n)))
    return results
