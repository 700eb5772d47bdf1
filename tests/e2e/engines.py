"""Other browser engines, from Debian's packages only: WebKitGTK (WebKitWebDriver driving MiniBrowser under
Xvfb: Safari's engine family) and Firefox ESR (headless, driven through Marionette, its built-in remote
protocol: Debian ships no geckodriver).

One small WebDriver client with two transports: W3C WebDriver over HTTP for WebKitWebDriver, Marionette's
length-prefixed JSON over TCP for Firefox (the same command names and parameters). Outside CI an engine
that is not installed is a skip; in CI (CI=true) it is a failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.e2e.conftest import free_port

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
XVFB_RUN = "/usr/bin/xvfb-run"
MINIBROWSER_GLOB = "/usr/lib/*/webkit2gtk-4.*/MiniBrowser"

# W3C WebDriver routes for the commands used here (Marionette takes the same names as "WebDriver:<name>").
_ROUTES = {
    "Navigate": ("POST", "/url"),
    "GetCurrentURL": ("GET", "/url"),
    "Refresh": ("POST", "/refresh"),
    "FindElements": ("POST", "/elements"),
    "ElementClick": ("POST", "/element/{id}/click"),
    "ElementSendKeys": ("POST", "/element/{id}/value"),
    "ElementClear": ("POST", "/element/{id}/clear"),
    "GetElementText": ("GET", "/element/{id}/text"),
    "GetElementRect": ("GET", "/element/{id}/rect"),
    "ExecuteScript": ("POST", "/execute/sync"),
    "ExecuteAsyncScript": ("POST", "/execute/async"),
    "PerformActions": ("POST", "/actions"),
    "ReleaseActions": ("DELETE", "/actions"),
    "SetWindowRect": ("POST", "/window/rect"),
    "DeleteSession": ("DELETE", ""),
}


class WebDriverError(RuntimeError):
    """A command the browser refused, with the driver's error and message."""


class _Http:
    """W3C WebDriver over HTTP (WebKitWebDriver)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = ""

    def send(self, name: str, params: dict[str, Any]) -> Any:
        if name == "NewSession":
            value = self._request("POST", f"{self.base}/session", params)
            self.session = value["sessionId"]
            return value
        method, path = _ROUTES[name]
        path = path.format(id=params.pop("id", ""))
        body = params if method == "POST" else None
        return self._request(method, f"{self.base}/session/{self.session}{path}", body)

    def _request(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            value = json.loads(error.read() or b"{}").get("value", {})
            raise WebDriverError(f"{value.get('error')}: {value.get('message')}") from None

    def close(self) -> None:
        """Nothing to close: each request is its own connection."""


class _Marionette:
    """Firefox's Marionette protocol: `len:json` frames, commands [0, id, name, params] → [1, id, error, result]."""

    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buffer = b""
        self.next_id = 0
        self._read()  # the server's hello

    def _read(self) -> Any:
        while b":" not in self.buffer:
            self._fill()
        length, _, rest = self.buffer.partition(b":")
        size = int(length)
        self.buffer = rest
        while len(self.buffer) < size:
            self._fill()
        frame, self.buffer = self.buffer[:size], self.buffer[size:]
        return json.loads(frame)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("Marionette closed the connection")
        self.buffer += chunk

    def send(self, name: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        payload = json.dumps([0, self.next_id, f"WebDriver:{name}", params]).encode()
        self.sock.sendall(str(len(payload)).encode() + b":" + payload)
        while True:
            _, message_id, error, result = self._read()
            if message_id == self.next_id:
                break
        if error:
            raise WebDriverError(f"{error.get('error')}: {error.get('message')}")
        if isinstance(result, dict) and set(result) == {"value"}:
            return result["value"]
        return result

    def close(self) -> None:
        self.sock.close()


class Browser:
    """A driven browser window: the few verbs the engine tests need."""

    def __init__(self, transport: _Http | _Marionette, engine: str) -> None:
        self.transport = transport
        self.engine = engine

    def command(self, name: str, **params: Any) -> Any:
        """One WebDriver command."""
        return self.transport.send(name, params)

    def goto(self, url: str) -> None:
        """Navigate and wait for the load."""
        self.command("Navigate", url=url)

    def reload(self) -> None:
        """Reload the page."""
        self.command("Refresh")

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body; ``arguments`` holds ``args``) in the page; returns its value."""
        return self.command("ExecuteScript", script=script, args=list(args))

    def js_async(self, script: str, *args: Any) -> Any:
        """Run an async script: its last argument is the callback to call with the result."""
        return self.command("ExecuteAsyncScript", script=script, args=list(args))

    def all(self, css: str) -> list[dict[str, str]]:
        """The elements matching ``css`` (possibly none)."""
        return list(self.command("FindElements", using="css selector", value=css) or [])

    def wait_for(self, css: str, timeout: float = 30) -> dict[str, str]:
        """The first element matching ``css``, once there is one."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.all(css)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.engine}: nothing matches {css!r} after {timeout} s")
            time.sleep(0.1)

    def wait_until(self, predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        """Poll ``predicate`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.engine}: {what} did not happen within {timeout} s")
            time.sleep(0.1)

    def click(self, css: str, timeout: float = 30) -> None:
        """Scroll to and click the first element matching ``css``."""
        element = self.wait_for(css, timeout)
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        self.command("ElementClick", id=element[ELEMENT])

    def fill(self, css: str, text: str) -> None:
        """Type ``text`` into a field (cleared first)."""
        element = self.wait_for(css)
        self.command("ElementClear", id=element[ELEMENT])
        self.command("ElementSendKeys", id=element[ELEMENT], text=text)

    def upload(self, css: str, path: Path) -> None:
        """Pick a file in an <input type=file>."""
        element = self.wait_for(css)
        self.command("ElementSendKeys", id=element[ELEMENT], text=str(path))

    def click_text(self, css: str, text: str, timeout: float = 30) -> None:
        """Click the first element matching ``css`` whose text contains ``text``."""
        script = "return [...document.querySelectorAll(arguments[0])].find((e) => e.textContent.includes(arguments[1])) ?? null;"
        element = self.wait_until(lambda: self.js(script, css, text), f"{css} with {text!r}", timeout)
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        self.command("ElementClick", id=element[ELEMENT])

    def text(self, css: str) -> str:
        """The visible text of the first element matching ``css``."""
        return str(self.command("GetElementText", id=self.wait_for(css)[ELEMENT]))

    def draw(self, css: str, wiggle: int) -> None:
        """A pointer stroke across the element (a signature), shaped by ``wiggle``."""
        element = self.wait_for(css)
        self.js("arguments[0].scrollIntoView({block: 'center'});", element)
        origin = {ELEMENT: element[ELEMENT]}
        moves: list[dict[str, Any]] = [{"type": "pointerMove", "origin": origin, "x": -150, "y": 10, "duration": 0},
                                       {"type": "pointerDown", "button": 0}]  # fmt: skip
        for step in range(1, 12):
            moves.append({"type": "pointerMove", "origin": origin, "x": -150 + step * 25,
                          "y": 10 - (step % wiggle) * 20, "duration": 20})  # fmt: skip
        moves.append({"type": "pointerUp", "button": 0})
        self.command("PerformActions", actions=[{"type": "pointer", "id": "pen",
                                                 "parameters": {"pointerType": "mouse"}, "actions": moves}])  # fmt: skip
        self.command("ReleaseActions")

    def close(self) -> None:
        """End the session."""
        with suppress(WebDriverError, OSError):
            self.command("DeleteSession")
        self.transport.close()


def _require(path: str, package: str) -> None:
    if not Path(path).exists():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{path} is missing in CI: .ci/run must apt-get install {package}")
        import pytest

        pytest.skip(f"{path} not installed (apt-get install {package})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@contextmanager
def firefox(profile: Path) -> Iterator[Browser]:
    """Firefox ESR, headless, with a fake camera that needs no permission prompt, driven by Marionette."""
    _require(FIREFOX, "firefox-esr")
    profile.mkdir(parents=True, exist_ok=True)
    prefs = {
        "marionette.port": 0,  # any free port, written to the profile's MarionetteActivePort
        "media.navigator.streams.fake": True,
        "media.navigator.permission.disabled": True,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "app.update.disabledForTesting": True,
        "browser.aboutwelcome.enabled": False,
        "intl.accept_languages": "zh-CN, zh",
    }
    (profile / "user.js").write_text(
        "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())
    )
    port_file = profile / "MarionetteActivePort"
    port_file.unlink(missing_ok=True)
    log = (profile.parent / f"{profile.name}.log").open("wb")
    process = subprocess.Popen(
        [FIREFOX, "--headless", "--marionette", "--no-remote", "--profile", str(profile), "about:blank"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MOZ_HEADLESS": "1"},
    )  # fmt: skip
    browser = None
    try:
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Firefox did not open Marionette; see {log.name}")
            time.sleep(0.2)
        browser = Browser(_Marionette(int(port_file.read_text().strip())), "firefox")
        browser.command("NewSession", capabilities={"alwaysMatch": {"acceptInsecureCerts": True}})
        browser.command("SetWindowRect", width=1280, height=800)
        yield browser
    finally:
        if browser is not None:
            browser.close()
        _stop(process)
        log.close()


@contextmanager
def webkit(workdir: Path) -> Iterator[Browser]:
    """WebKitGTK's MiniBrowser (mock camera on) driven by WebKitWebDriver, in a virtual X display."""
    _require(WEBKIT_DRIVER, "webkit2gtk-driver")
    _require(XVFB_RUN, "xvfb")
    found = sorted(Path("/").glob(MINIBROWSER_GLOB.lstrip("/")))
    if not found:
        _require(MINIBROWSER_GLOB, "webkit2gtk-driver")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (workdir / "webkitdriver.log").open("wb")
    process = subprocess.Popen(
        [XVFB_RUN, "-a", "-s", "-screen 0 1280x1024x24", WEBKIT_DRIVER, f"--port={port}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    browser = None
    try:
        transport = _Http(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"WebKitWebDriver did not start; see {log.name}") from None
                time.sleep(0.2)
        browser = Browser(transport, "webkit")
        options = {"binary": str(found[0]), "args": ["--automation", "--enable-mock-capture-devices=true",
                                                      "--enable-media-stream=true"]}  # fmt: skip
        browser.command("NewSession", capabilities={"alwaysMatch": {"webkitgtk:browserOptions": options}})
        yield browser
    finally:
        if browser is not None:
            browser.close()
        # xvfb-run starts Xvfb and the driver in the session it leads: end that session only.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=15)
        log.close()
