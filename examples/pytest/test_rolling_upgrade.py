"""The seed's rolling upgrade (AsyncOS 9.1.2 to 9.5.0) through the console, and a cut link.

Every control is found by its accessible role and name, as docs/testing.md's selector contract
lists them; the clock is frozen, so the upgrade finishes when the test advances it.
"""

from conftest import xpath_literal

CLUSTER = ["losangeles.example.com", "newyork.example.com", "sf.example.com"]


def machine(host):
    """The host's row on the overview."""
    return f"//li[@aria-label={xpath_literal('Machine ' + host)}]"


def actions(host):
    """The host's actions on its own page."""
    return f"//section[@aria-label={xpath_literal('Actions on ' + host)}]"


def button(scope, text):
    return f"{scope}//button[normalize-space(.)={xpath_literal(text)}]"


def badge(host, state):
    """The host's state badge on the overview once it reads exactly state."""
    return f"{machine(host)}//*[normalize-space(.)={xpath_literal(state)}]"


def listener(host, state):
    return (
        f"//section[@aria-label={xpath_literal('Listeners of ' + host)}]"
        f"//li[normalize-space(.)={xpath_literal('InboundMail: ' + state)}]"
    )


def open_machine_page(console, host):
    """From the overview, as a person gets there: the machine's name is a link to its page."""
    console.click("//nav[@aria-label='Main']//a[normalize-space(.)='Overview']")
    console.click(f"{machine(host)}//a[normalize-space(.)={xpath_literal(host)}]")
    console.find(f"//main//h1[starts-with(normalize-space(.), {xpath_literal(host)})]")


def upgrade_from_its_page(console, fleet, host):
    open_machine_page(console, host)
    # Upgrading acts on the machine one is logged into: open a session on it, or switch to the one
    # this browser kept from before.
    way = console.find(
        f"{actions(host)}//a[normalize-space(.)={xpath_literal('Open a session on ' + host)}]"
        f" | {button(actions(host), 'Switch to your session on ' + host)}"
    )
    if way.tag_name == "a":
        way.click()
        console.fill("Password", "ironport")
        console.click("//main//button[normalize-space(.)='Open session']")
    else:
        way.click()
    console.account_menu("admin", host)

    console.click(button(actions(host), "Disconnect"))
    console.wait_text(f"{actions(host)}//*[@role='status']", f"{host} is now disconnected")
    console.click(button(actions(host), "Suspend listeners"))
    console.find(listener(host, "suspended"))

    console.click(button(actions(host), "Upgrade"))
    # Disconnected first, it upgrades alone: the question's answer says so.
    console.click(button("//*[@role='dialog']", f"Upgrade {host}"))
    console.wait_text(f"{actions(host)}//*[@role='status']", f"Upgrading {host} to AsyncOS 9.5.0")

    # Install and reboot take 420 simulated seconds: done when the call answers.
    fleet.clock(advance_seconds=600)
    console.find(f"//section[@aria-label={xpath_literal('About ' + host)}]//dd[normalize-space(.)='AsyncOS 9.5.0']")
    console.wait_text("//main//h1", "disconnected (detached)")

    console.click(button(actions(host), "Resume"))
    console.find(listener(host, "accepting"))


def test_rolling_upgrade_of_the_americas_cluster(console, fleet):
    console.login(fleet)
    for host in CLUSTER:
        upgrade_from_its_page(console, fleet, host)
    # Logged into sf now: it reconnects first (the cluster is then on 9.5.0), then the others join it.
    for host, says in [
        ("sf.example.com", "now runs AsyncOS 9.5.0"),
        ("losangeles.example.com", "losangeles.example.com is reconnected"),
        ("newyork.example.com", "newyork.example.com is reconnected"),
    ]:
        open_machine_page(console, host)
        console.click(button(actions(host), "Reconnect"))
        console.wait_text(f"{actions(host)}//*[@role='status']", says)

    console.click("//nav[@aria-label='Main']//a[normalize-space(.)='Overview']")
    for host in CLUSTER:
        console.find(f"{machine(host)}//*[normalize-space(.)='AsyncOS 9.5.0']")
        console.find(badge(host, "connected"))


def test_a_cut_link_shows_on_the_overview(console, fleet):
    console.login(fleet)
    # Links route through peers: with losangeles disconnected, newyork and sf have only their own.
    open_machine_page(console, "losangeles.example.com")
    console.click(button(actions("losangeles.example.com"), "Disconnect"))
    console.wait_text(f"{actions('losangeles.example.com')}//*[@role='status']", "is now disconnected")
    console.click("//nav[@aria-label='Main']//a[normalize-space(.)='Overview']")
    console.find(badge("sf.example.com", "connected"))

    link = ["newyork.example.com", "sf.example.com"]
    fleet.fault(kind="link", between=link, state="down")
    console.find(badge("sf.example.com", "disconnected (link down)"))
    console.find(badge("newyork.example.com", "disconnected (link down)"))

    fleet.fault(kind="link", between=link, state="up")
    console.find(badge("sf.example.com", "connected"))
    console.find(badge("newyork.example.com", "connected"))
