//! One cell of a feature row: what each [`ColumnKind`] accepts, and how it is normalised. A refused cell
//! is a [`CellError`] saying what was expected.

use serde::Serialize;

use super::ColumnKind;
use crate::names::{password_policy, Hostname};

/// Why a cell does not fit its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CellError {
    #[error("control characters are not allowed")]
    ControlCharacters,
    #[error("longer than 255 characters")]
    TooLong,
    #[error("{reason}")]
    Domain { reason: &'static str },
    #[error("the part before '@' is not a valid mailbox")]
    Mailbox,
    #[error("destination \"{dest}\" is not a host name or IP address")]
    Destination { dest: String },
    #[error("port \"{port}\" must be a number from 1 to 65535")]
    Port { port: String },
    #[error("expected an IPv4 address like 192.168.1.10")]
    Ipv4,
    #[error("expected a network like 10.0.0.0/8")]
    Network,
    #[error("the prefix length must be a number from 0 to 32")]
    PrefixLength,
    #[error("must not be empty")]
    Empty,
    #[error("may contain only letters, digits, '_', '-' and '.'")]
    NameCharacters,
    #[error("must be a whole number from {min} to {max}")]
    Integer { min: i64, max: i64 },
    #[error("must be one of: {choices}")]
    Choice { choices: String },
    #[error("{reason}")]
    Password { reason: &'static str },
}

/// How a valid cell is stored (domains and choices in lower case).
pub(crate) fn normalise(kind: ColumnKind, value: &str) -> String {
    match kind {
        ColumnKind::Domain
        | ColumnKind::DomainOrAddress
        | ColumnKind::DestinationList
        | ColumnKind::Choice { .. } => value.to_ascii_lowercase(),
        _ => value.to_string(),
    }
}

fn domain(value: &str) -> Result<(), CellError> {
    let bare = value.strip_prefix('.').unwrap_or(value);
    Hostname::parse(bare)
        .map(|_| ())
        .map_err(|e| CellError::Domain { reason: e.reason })
}

/// Whether `value` is a dotted-quad IPv4 address.
pub fn is_ipv4(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

fn ipv4(value: &str) -> Result<(), CellError> {
    if is_ipv4(value) {
        Ok(())
    } else {
        Err(CellError::Ipv4)
    }
}

/// Checks one cell against its column kind.
pub fn validate(kind: ColumnKind, value: &str) -> Result<(), CellError> {
    if value.chars().any(|c| c.is_control()) {
        return Err(CellError::ControlCharacters);
    }
    if value.len() > 255 {
        return Err(CellError::TooLong);
    }
    match kind {
        ColumnKind::Domain => domain(value),
        ColumnKind::DomainOrAddress => match value.split_once('@') {
            Some((local, d)) => {
                if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c == '@') {
                    return Err(CellError::Mailbox);
                }
                domain(d)
            }
            None => domain(value),
        },
        ColumnKind::DestinationList => {
            for dest in value.split(',') {
                let (host, port) = match dest.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (dest, None),
                };
                if host.eq_ignore_ascii_case("/dev/null") {
                    continue;
                }
                if !is_ipv4(host) && Hostname::parse(host).is_err() {
                    return Err(CellError::Destination {
                        dest: dest.to_string(),
                    });
                }
                if let Some(p) = port {
                    if !matches!(p.parse::<u32>(), Ok(1..=65535)) {
                        return Err(CellError::Port { port: p.to_string() });
                    }
                }
            }
            Ok(())
        }
        ColumnKind::Ipv4 => ipv4(value),
        ColumnKind::Ipv4Network => {
            let (ip, len) = value.split_once('/').ok_or(CellError::Network)?;
            ipv4(ip)?;
            match len.parse::<u8>() {
                Ok(0..=32) => Ok(()),
                _ => Err(CellError::PrefixLength),
            }
        }
        ColumnKind::Name => {
            if value.is_empty() {
                Err(CellError::Empty)
            } else if !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                Err(CellError::NameCharacters)
            } else {
                Ok(())
            }
        }
        ColumnKind::Text => {
            if value.is_empty() {
                Err(CellError::Empty)
            } else {
                Ok(())
            }
        }
        ColumnKind::Integer { min, max } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(CellError::Integer { min, max }),
        },
        ColumnKind::Choice { choices } => {
            if choices.iter().any(|c| c.eq_ignore_ascii_case(value)) {
                Ok(())
            } else {
                Err(CellError::Choice {
                    choices: choices.join(", "),
                })
            }
        }
        ColumnKind::Secret => password_policy(value).map_err(|reason| CellError::Password { reason }),
    }
}

/// Quotes a word for the CLI when it contains spaces, quotes or is empty.
pub fn quote_if_needed(word: &str) -> String {
    if !word.is_empty() && !word.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
