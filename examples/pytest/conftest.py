"""Fixtures for a pytest + Selenium suite against Clusterdeck (see docs/testing.md).

- ``server_url``: the server, from ``CLUSTERDECK_URL`` (a ``clusterdeck serve --test-api``).
- ``test_api``: a client of the server's test API (``/api/v1/test``).
- ``fleet``: a fresh ``americas`` fleet with its clock frozen, deleted after the test (its event log is
  saved when the test fails).
- ``browser``: headless Chromium through ChromeDriver (``CHROMIUM``, ``CHROMEDRIVER``).
- ``console``: the browser with a few waits that find controls by their accessible names.
"""

import json
import os
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# How long a page may take to show what a test waits for.
TIMEOUT = 15


class ApiError(Exception):
    """The test API refused a request: its status, code and message."""

    def __init__(self, status, body):
        self.status = status
        self.code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{status} {self.code}: {message}")


class FleetApi:
    """The test API of one server. Its requests need no session and send no Origin."""

    def __init__(self, server_url):
        self.base = server_url.rstrip("/") + "/api/v1/test"

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                raise ApiError(e.code, json.loads(text)) from None
            except json.JSONDecodeError:
                raise ApiError(e.code, text) from None
        return text

    def new_fleet(self, fixture="americas", script=None):
        body = {"script": script} if script is not None else {"fixture": fixture}
        return Fleet(self, json.loads(self.request("POST", "/fleets", body))["fleet"])


class Fleet:
    """A test fleet: its id (what the login form's Fleet field takes), its clock, faults, export."""

    def __init__(self, api, id):
        self.api = api
        self.id = id

    def clock(self, **change):
        """One of freeze=True|False, advance_seconds=N, speed=X; returns {"now", "speed", "frozen"}."""
        return json.loads(self.api.request("POST", f"/fleets/{self.id}/clock", change))

    def fault(self, **control):
        """A simulator control (rules §16.1), e.g. kind="link", between=[a, b], state="down"."""
        return json.loads(self.api.request("POST", f"/fleets/{self.id}/faults", control))

    def export(self):
        """The fleet's event log, JSON Lines."""
        return self.api.request("GET", f"/fleets/{self.id}/export")

    def delete(self):
        self.api.request("DELETE", f"/fleets/{self.id}")


def xpath_literal(s):
    """An XPath string literal for s."""
    if "'" not in s:
        return f"'{s}'"
    if '"' not in s:
        return f'"{s}"'
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in s.split("'")) + ")"


class Console:
    """The Clusterdeck console in a browser. Pages update live: every method waits for what it needs."""

    def __init__(self, driver, server_url):
        self.driver = driver
        self.url = server_url.rstrip("/")
        self.wait = WebDriverWait(
            driver, TIMEOUT, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )

    def open(self, path):
        self.driver.get(self.url + path)

    def find(self, xpath):
        """The element the XPath matches, once there is one."""
        return self.wait.until(
            lambda d: d.find_element(By.XPATH, xpath),
            f"nothing matches {xpath}",
        )

    def click(self, xpath):
        """Clicks the element once it is there and enabled (found again if a re-render replaced it)."""

        def clicked(d):
            try:
                el = d.find_element(By.XPATH, xpath)
                if not el.is_enabled():
                    return False
                el.click()
                return True
            except ElementClickInterceptedException:
                return False

        self.wait.until(clicked, f"cannot click {xpath}")

    def wait_text(self, xpath, text):
        """Waits until an element the XPath matches contains text; returns its text."""
        return self.find(f"{xpath}[contains(., {xpath_literal(text)})]").text

    def fill(self, label, value):
        """Types value into the field labelled label."""
        field = self.find(f"//main//label[normalize-space(.)={xpath_literal(label)}]//input")
        field.clear()
        field.send_keys(value)

    def login(self, fleet, user="admin", password="ironport", host="newyork.example.com"):
        """Logs in through the login form: /?fleet=<id> fills in the fleet."""
        self.open(f"/?fleet={fleet.id}")
        self.fill("User", user)
        self.fill("Password", password)
        self.fill("Login host", host)
        self.click("//button[normalize-space(.)='Log in']")
        self.account_menu(user, host)

    def account_menu(self, user, host):
        """The header's account menu once it names user on host ("admin on newyork")."""
        short = host.split(".")[0]
        return self.find(f"//header//summary[normalize-space(.)={xpath_literal(f'{user} on {short}')}]")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keeps each phase's report on the test, so the fleet fixture knows whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def server_url():
    return os.environ.get("CLUSTERDECK_URL", "http://127.0.0.1:8080").rstrip("/")


@pytest.fixture(scope="session")
def test_api(server_url):
    return FleetApi(server_url)


@pytest.fixture
def fleet(test_api, request, tmp_path):
    """A fresh americas fleet whose clock stands still until the test moves it."""
    f = test_api.new_fleet(fixture="americas")
    try:
        f.clock(freeze=True)
        yield f
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            log = tmp_path / f"{f.id}.jsonl"
            log.write_text(f.export())
            print(f"the fleet's event log: {log}")
    finally:
        f.delete()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


@pytest.fixture
def console(browser, server_url):
    return Console(browser, server_url)
