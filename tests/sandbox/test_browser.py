"""The sandbox in a real headless Chromium (Debian's chromium + chromium-driver, driven by selenium):
`thidua sandbox --demo` as a user starts it (the demo's finished vote shows a valid result and minutes),
then the head opens a flag vote, three representatives
follow the card's deep link, tick, confirm and cast, the head closes, and the results message with
its chart and the minutes appear in the group. Screenshots go to test-output/sandbox/ (and to docs/
with THIDUA_DOCS_SCREENSHOTS=1); the typed-message timings are printed and saved, not asserted."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.sandbox.server import UNITS

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "sandbox"
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
TIENYEN = UNITS[4]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sandbox_process(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL")}
    env["SANDBOX_LOG_UPDATES"] = "1"  # sandbox.log then says which updates the bot handled, and how long each took
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "sandbox", "--demo", "--port", str(port),
                             "--data-dir", str(tmp_path / "sandbox")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    page_ready = None
    try:
        while time.monotonic() - t0 < 30:
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        page_ready = time.monotonic() - t0
                        break
            except OSError:
                time.sleep(0.05)
        assert page_ready is not None, "the page never answered"
        yield url, {"page_ready_s": page_ready, "t0": t0}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        (OUT.mkdir(parents=True, exist_ok=True), (OUT / "sandbox.log").write_text(output or ""))
        # Shown by pytest only when the test failed: which updates the bot handled, and how fast.
        print("sandbox.log, last lines:", *(output or "").splitlines()[-30:], sep="\n")
    assert proc.returncode == 0, output


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and DRIVER.exists()):
        message = "Debian's chromium and chromium-driver are not installed (make test installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for name in ("selenium", "urllib3"):  # their DEBUG lines would bury a failure's own output
        logging.getLogger(name).setLevel(logging.INFO)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,860",
                "--lang=vi", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


class Ui:
    def __init__(self, driver, timeout: float = 20) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.wait = WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException])
        OUT.mkdir(parents=True, exist_ok=True)

    def css(self, selector: str, root=None):
        from selenium.webdriver.common.by import By

        return (root or self.d).find_elements(By.CSS_SELECTOR, selector)

    def until(self, what: str, check):
        from selenium.common.exceptions import TimeoutException

        try:
            return self.wait.until(lambda _d: check())
        except TimeoutException:
            self.shot("failed-" + what.replace(" ", "-")[:40])
            texts = [m.text for m in self.css("#messages .msg")][-4:]
            toast = self.css("#toast.show")
            raise AssertionError(f"timed out waiting for {what}; last messages: {texts}"
                                 + (f"; the page said: {toast[0].text!r}" if toast else "")) from None

    def as_persona(self, key: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.css("#persona")[0]).select_by_value(key)
        self.until(f"persona {key}", lambda: self.css("#persona")[0].get_attribute("value") == key)

    def open_chat(self, kind: str) -> None:
        """kind: 'group' (the bloc's group) or 'private' (the chat with the bot)."""
        def find():
            for li in self.css("#chats li"):
                is_private = int(li.get_attribute("data-chat-id")) > 0
                if is_private == (kind == "private"):
                    return li
            return None

        def click() -> bool:  # the list may be drawn again between finding and clicking: find again
            li = find()
            if li is None:
                return False
            li.click()
            return True

        self.until(f"{kind} chat in the list", click)
        self.until(f"{kind} chat open", lambda: "active" in find().get_attribute("class"))

    def type(self, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        box = self.css("#text")[0]
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def _find(self, contains: str, with_button: str | None = None):
        for message in reversed(self.css("#messages .msg.from-bot")):
            if contains in message.text and (with_button is None or self.button_in(message, with_button)):
                return message
        return None

    def bot_message(self, contains: str, with_button: str | None = None):
        return self.until(f"bot message {contains!r}" + (f" with {with_button!r}" if with_button else ""),
                          lambda: self._find(contains, with_button))

    def button_in(self, message, label: str):
        return next((b for b in self.css(".kb-btn", message) if label in b.text), None)

    def press(self, contains: str, label: str) -> None:
        """Find the button and click it inside the wait: an edited message (the vote card after a
        cast) is drawn anew, and the element found a moment before goes stale; it is found again."""
        def click() -> bool:
            message = self._find(contains, label)
            if message is None:
                return False
            self.button_in(message, label).click()
            return True

        self.until(f"bot message {contains!r} with {label!r}", click)

    def shot(self, name: str) -> Path:
        path = OUT / f"{name}.png"
        self.d.save_screenshot(str(path))
        return path


# The page answers a deep link by sending /start and loading the private chat's history; the bot's
# answer can come through the event stream before that history does (it failed twice under CI
# load). Here the history is held in the page until the test has seen, on the server, that the
# ballot was sent: the page must show nothing tappable while it loads, and the ballot once it has.
HOLD_HISTORY = """
window.realFetch = window.realFetch || window.fetch;
window.heldHistory = [];
window.fetch = async (url, opts) => {
  const response = await window.realFetch(url, opts);
  if (String(url).startsWith("/api/messages")) await new Promise((done) => window.heldHistory.push(done));
  return response;
};
"""
RELEASE_HISTORY = "window.fetch = window.realFetch; for (const done of window.heldHistory.splice(0)) done();"


def _api(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path.lstrip("/"), timeout=5) as r:
        return json.loads(r.read())


def ballot_sent(url: str, persona: str) -> bool:
    """Whether the bot has sent `persona` a ballot with a button for Tiên Yên (the sandbox's record)."""
    person = next(p for p in _api(url, "/api/state")["personas"] if p["key"] == persona)
    chat = next(c["id"] for c in person["chats"] if c["type"] == "private")
    messages = _api(url, f"/api/messages?persona={persona}&chat={chat}")["messages"]
    return any(TIENYEN in b["text"] for m in messages for row in m.get("buttons") or [] for b in row)


def test_a_vote_in_the_browser(sandbox_process, browser):
    url, timing = sandbox_process
    ui = Ui(browser)
    browser.get(url)
    ui.until("the bot and the demo bloc", lambda: ui.css("#status")[0].get_attribute("data-status") == "ready")
    timing["ready_s"] = time.monotonic() - timing["t0"]

    ui.as_persona("head")
    ui.open_chat("group")
    ui.bot_message("Đã thêm 14 đơn vị")
    # The demo's finished flag vote: 12 of 14 units cast, a valid result with its chart and minutes.
    seeded = ui.bot_message("Kết quả bỏ phiếu")
    assert "thu về: 12" in seeded.text and "KHÔNG" not in seeded.text
    ui.until("the demo's minutes", lambda: any(a.text.endswith(".docx") for a in ui.css("#messages .doc a")))
    ui.d.execute_script("arguments[0].scrollIntoView({block: 'start'})", seeded)
    valid_result = ui.shot("0-demo-valid-result")
    ui.type("/vote flag")
    ui.bot_message("Bỏ phiếu kín", with_button="🗳 Bỏ phiếu")
    ui.bot_message("0/14 đơn vị đã bỏ phiếu")
    shots = [ui.shot("1-head-opens-flag-vote")]

    for number, persona in enumerate(("deputy", "mai", "tuan"), start=1):
        ui.as_persona(persona)
        ui.open_chat("group")
        if number == 1:  # the ballot arrives while the private chat's history is still loading
            ui.d.execute_script(HOLD_HISTORY)
        ui.press("Bỏ phiếu kín", "🗳 Bỏ phiếu")  # the deep link: opens the private chat, /start v_<id>
        ui.until("the private chat", lambda: "@thidua_sandbox_bot" in ui.css("#chat-sub")[0].text)
        if number == 1:
            ui.until("the bot's ballot sent", lambda: ballot_sent(url, "deputy"))
            # While the history loads the page shows "loading", not the group's messages with the
            # ballot under them, which the history then moved away from under a tap (CI failed so).
            assert ui.css("#messages")[0].get_attribute("data-loading") == "1"
            assert not ui.css("#messages .msg") and "Đang tải" in ui.css("#messages")[0].text
            ui.d.execute_script(RELEASE_HISTORY)
        ui.press("Cờ thi đua", TIENYEN)
        ui.until("the tick", lambda: ui.button_in(ui.bot_message("Cờ thi đua", TIENYEN), "☑ " + TIENYEN))
        if number == 1:
            shots.append(ui.shot("2-representative-ticks"))
        ui.press("Cờ thi đua", "Tiếp tục")
        ui.press("Kiểm tra lại phiếu", "✅ Gửi phiếu (không sửa được nữa)")
        receipt = ui.bot_message("Mã biên nhận")
        assert TIENYEN not in receipt.text  # the chat keeps the receipt, not the choice

    ui.as_persona("head")
    ui.open_chat("group")
    ui.bot_message("3/14 đơn vị đã bỏ phiếu")  # the card was edited in place
    ui.type("/close")
    ui.press("Đóng", "✅ Đóng và kiểm phiếu")
    ui.bot_message("Hòm phiếu đã khóa")  # the counting committee opens the box with its keys
    for persona in ("head", "deputy"):
        ui.as_persona(persona)
        ui.open_chat("private")
        ui.press("Khóa hòm phiếu", "Nộp khóa")
    ui.as_persona("head")
    ui.open_chat("group")
    results = ui.bot_message("Kết quả bỏ phiếu #2")  # this vote's, after the demo's #1
    assert TIENYEN in results.text
    ui.until("the chart", lambda: sum(img.get_attribute("naturalWidth") not in (None, "0")
                                      for img in ui.css("#messages .photo img")) >= 2)
    ui.until("the minutes", lambda: sum(a.text.endswith(".docx") for a in ui.css("#messages .doc a")) >= 2)
    shots.append(ui.shot("3-results-in-group"))

    # How fast a typed message gets its answer on screen (measured in the page, reported, not asserted).
    ui.open_chat("private")
    for i in range(12):
        before = len(ui.css("#messages .msg.from-bot"))
        ui.type("/help" if i % 2 else "/whoami")
        ui.until("an answer", lambda before=before: len(ui.css("#messages .msg.from-bot")) > before)
    samples = browser.execute_script("return window.sandboxTimings")
    assert len(samples) >= 12
    report = {"page_ready_s": round(timing["page_ready_s"], 2), "demo_ready_s": round(timing["ready_s"], 2),
              "typed_to_answer_ms": {"n": len(samples), "p50": round(statistics.median(samples), 1),
                                     "p95": round(sorted(samples)[int(0.95 * (len(samples) - 1))], 1),
                                     "max": round(max(samples), 1)}}
    (OUT / "timings.json").write_text(json.dumps(report, indent=2))
    print("\nsandbox timings:", json.dumps(report))
    if os.environ.get("THIDUA_DOCS_SCREENSHOTS") == "1":
        shutil.copy(shots[0], ROOT / "docs" / "sandbox-vote-card.png")
        shutil.copy(valid_result, ROOT / "docs" / "sandbox-results.png")  # the valid one, not 3 of 14
