//! The simulator's controls (rules §16.2): faults an administrator raises and repairs — links, names,
//! power, failing installs, slow reboots, slow delivery. Not appliance commands: one JSON shape
//! ([`Fault`]) for `POST /api/v1/simulator`, the script directives and the event that carries it, and one
//! check here for all of them.

use crate::event::{Event, EventKind, Fault, InstallFault, Switch};
use crate::fleet::{Fleet, Machine, Power};
use crate::names::{Hostname, Timestamp, UserName};
use crate::roles::{Permission, Role};
use crate::verdict::Rejection;

/// The longest a reboot may be slowed by: one simulated day.
pub const MAX_EXTRA_REBOOT_SECS: u32 = 86_400;
/// Delivery runs at 0 to this percentage of its normal rate.
pub const MAX_DELIVERY_PERCENT: u8 = 100;

fn bad(why: String) -> Rejection {
    Rejection::BadFault { why }
}

fn machine<'a>(fleet: &'a Fleet, host: &Hostname) -> Result<&'a Machine, Rejection> {
    fleet
        .machine(host)
        .ok_or_else(|| Rejection::UnknownMachine { host: host.clone() })
}

/// The name the test API's controls are recorded under (`docs/testing.md`).
pub const TEST_KIT_USER: &str = "test-api";

/// A control from the test API (issue 15): a test suite raises faults with an administrator's rights,
/// as the user [`TEST_KIT_USER`]; everything else is checked as for anyone.
pub fn check_for_test_kit(
    fleet: &Fleet,
    fault: &Fault,
    now: Timestamp,
) -> Result<(Event, String), Rejection> {
    let user = UserName::parse(TEST_KIT_USER).map_err(|e| bad(e.to_string()))?;
    check(fleet, &user, Role::Administrator, fault, now)
}

/// Checks a control for a user of `role` and gives the event that raises or repairs the fault, with the
/// line that describes it (for the audit log and the console).
pub fn check(
    fleet: &Fleet,
    user: &UserName,
    role: Role,
    fault: &Fault,
    now: Timestamp,
) -> Result<(Event, String), Rejection> {
    if !role.may(Permission::Simulate) {
        return Err(Rejection::NotPermitted {
            user: user.clone(),
            role,
            command: "the simulator".into(),
            why: format!("it is for {}", Permission::Simulate.who()),
        });
    }
    let describe = match fault {
        Fault::Link {
            between: [a, b],
            state,
        } => {
            machine(fleet, a)?;
            machine(fleet, b)?;
            if a == b {
                return Err(bad(format!("a link joins two machines; both ends are {a}")));
            }
            let down = !fleet.network.link_up(a, b);
            match state {
                Switch::Down if down => return Err(bad(format!("the link {a} – {b} is already down"))),
                Switch::Up if !down => return Err(bad(format!("the link {a} – {b} is already up"))),
                Switch::Down => format!("link {a} – {b} cut"),
                Switch::Up => format!("link {a} – {b} restored"),
                Switch::On | Switch::Off => return Err(bad("a link's state is \"down\" or \"up\"".into())),
            }
        }
        Fault::Dns { host, state } => {
            machine(fleet, host)?;
            let off = fleet.network.dns_off.contains(host);
            match state {
                Switch::Off if off => return Err(bad(format!("{host} already does not resolve"))),
                Switch::On if !off => return Err(bad(format!("{host} already resolves"))),
                Switch::Off => format!("{host} no longer resolves"),
                Switch::On => format!("{host} resolves again"),
                Switch::Up | Switch::Down => return Err(bad("a name's state is \"off\" or \"on\"".into())),
            }
        }
        Fault::Power { host, state } => {
            let m = machine(fleet, host)?;
            match state {
                Switch::Off if m.is_off() => return Err(bad(format!("{host} is already powered off"))),
                Switch::On if m.runtime.power == Power::On => {
                    return Err(bad(format!("{host} is already powered on")))
                }
                Switch::Off if m.is_upgrading() => {
                    return Err(bad(format!(
                        "{host} is upgrading (installing or rebooting); power it off once the upgrade is over"
                    )))
                }
                Switch::Off => format!("{host} powered off"),
                Switch::On => format!("{host} powered on"),
                Switch::Up | Switch::Down => {
                    return Err(bad("a machine's power is \"off\" or \"on\"".into()))
                }
            }
        }
        Fault::Install { host, state } => {
            let armed = machine(fleet, host)?.runtime.faults.fail_next_install;
            match state {
                InstallFault::Fail if armed => {
                    return Err(bad(format!("the next install on {host} is already set to fail")))
                }
                InstallFault::Succeed if !armed => {
                    return Err(bad(format!("no failing install is armed on {host}")))
                }
                InstallFault::Fail => format!("the next install on {host} fails"),
                InstallFault::Succeed => format!("the next install on {host} succeeds"),
            }
        }
        Fault::Reboot { host, extra_seconds } => {
            machine(fleet, host)?;
            if *extra_seconds > MAX_EXTRA_REBOOT_SECS {
                return Err(bad(format!(
                    "extra_seconds is {extra_seconds}; a reboot may be slowed by 0 to {MAX_EXTRA_REBOOT_SECS} seconds"
                )));
            }
            format!("the next reboot of {host} takes {extra_seconds} s longer")
        }
        Fault::Delivery { host, rate_percent } => {
            machine(fleet, host)?;
            if *rate_percent > MAX_DELIVERY_PERCENT {
                return Err(bad(format!(
                    "rate_percent is {rate_percent}; delivery runs at 0 to {MAX_DELIVERY_PERCENT} percent of its normal rate"
                )));
            }
            format!("{host} delivers at {rate_percent}% of its normal rate")
        }
    };
    let event = Event::new(now, EventKind::Fault { fault: fault.clone() });
    Ok((event, describe))
}

/// Parses a script directive of the simulator (`@link a b down`, `@dns h off`, `@power h off`,
/// `@fail install h`, `@slow reboot h 900`, `@slow delivery h 10`), without its `@`.
pub fn parse_directive(words: &[&str]) -> Option<Result<Fault, String>> {
    let host = |w: &str| Hostname::parse(w).map_err(|e| e.to_string());
    let result = match words {
        ["link", a, b, state] => {
            let state = match *state {
                "down" => Switch::Down,
                "up" => Switch::Up,
                _ => return Some(Err("usage: @link <a> <b> down|up".into())),
            };
            host(a).and_then(|a| {
                Ok(Fault::Link {
                    between: [a, host(b)?],
                    state,
                })
            })
        }
        ["link", ..] => Err("usage: @link <a> <b> down|up".into()),
        ["dns", h, state @ ("off" | "on")] => host(h).map(|host| Fault::Dns {
            host,
            state: if *state == "on" { Switch::On } else { Switch::Off },
        }),
        ["dns", ..] => Err("usage: @dns <host> off|on".into()),
        ["power", h, state @ ("off" | "on")] => host(h).map(|host| Fault::Power {
            host,
            state: if *state == "on" { Switch::On } else { Switch::Off },
        }),
        ["power", ..] => Err("usage: @power <host> off|on".into()),
        ["fail", "install", h] => host(h).map(|host| Fault::Install {
            host,
            state: InstallFault::Fail,
        }),
        ["fail", "install", h, "off"] => host(h).map(|host| Fault::Install {
            host,
            state: InstallFault::Succeed,
        }),
        ["fail", ..] => Err("usage: @fail install <host> [off]".into()),
        ["slow", "reboot", h, n] => match n.parse::<u32>() {
            Ok(extra_seconds) => host(h).map(|host| Fault::Reboot { host, extra_seconds }),
            Err(_) => Err(format!("@slow reboot takes a number of seconds, not \"{n}\"")),
        },
        ["slow", "delivery", h, p] => match p.parse::<u8>() {
            Ok(rate_percent) => host(h).map(|host| Fault::Delivery { host, rate_percent }),
            Err(_) => Err(format!("@slow delivery takes a percentage 0 to 100, not \"{p}\"")),
        },
        ["slow", ..] => Err("usage: @slow reboot <host> <seconds> | @slow delivery <host> <percent>".into()),
        _ => return None,
    };
    Some(result)
}
