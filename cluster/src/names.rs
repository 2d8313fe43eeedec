//! Validated names and values: parsed once at the edge, trusted inside ("parse, don't validate").
//! The bottom layer of the crate: it depends on nothing else here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name or value did not parse. Names the kind of value and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid {kind} \"{input}\": {reason}")]
pub struct NameError {
    pub kind: &'static str,
    pub input: String,
    pub reason: &'static str,
}

fn name_error(kind: &'static str, input: &str, reason: &'static str) -> NameError {
    NameError {
        kind,
        input: truncate(input, 80),
        reason,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A string schema described as `what` (the API document's view of a validated name).
#[cfg(feature = "openapi")]
pub fn string_schema(what: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(what.to_string()))
        .into()
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $validate:path) => {
        string_newtype!($(#[$doc])* $name, $kind, $validate, str::to_string);
    };
    ($(#[$doc:meta])* $name:ident, $kind:literal, $validate:path, $normalise:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates `input`, in its normal form.
            pub fn parse(input: &str) -> Result<Self, NameError> {
                $validate(input).map_err(|reason| name_error($kind, input, reason))?;
                Ok(Self($normalise(input)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For names the crate itself states (fixtures, the built-in `admin`): no validation.
            #[allow(dead_code)]
            pub(crate) fn known(name: &str) -> Self {
                Self($normalise(name))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::names::string_schema($kind)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn validate_hostname(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.len() > 253 {
        return Err("longer than 253 characters");
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err("has an empty label (two dots in a row, or a leading or trailing dot)");
        }
        if label.len() > 63 {
            return Err("has a label longer than 63 characters");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("may contain only letters, digits, '-' and '.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label may not start or end with '-'");
        }
    }
    Ok(())
}

fn validate_simple_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.chars().count() > 64 {
        return Err("longer than 64 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("may contain only letters, digits, '_', '-' and '.'");
    }
    Ok(())
}

fn validate_user_name(s: &str) -> Result<(), &'static str> {
    validate_simple_name(s)?;
    if !s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err("must start with a letter");
    }
    Ok(())
}

string_newtype!(
    /// A machine's main hostname (FQDN). Cluster traffic always addresses it. Host names compare
    /// case-insensitively (rules §14.7.9): the parsed name is lower case, so `NEWYORK.EXAMPLE.COM` is
    /// `newyork.example.com` everywhere — commands, logins, URLs, files.
    Hostname,
    "hostname",
    validate_hostname,
    str::to_ascii_lowercase
);
string_newtype!(
    /// A group name, unique within its cluster (case-sensitive).
    GroupName,
    "group name",
    validate_simple_name
);
string_newtype!(
    /// A cluster name.
    ClusterName,
    "cluster name",
    validate_simple_name
);
string_newtype!(
    /// A user account name.
    UserName,
    "user name",
    validate_user_name
);

fn validate_token(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 128 {
        return Err("use 1 to 128 letters, digits, '-' and '_'");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("use letters, digits, '-' and '_' only");
    }
    Ok(())
}

fn validate_file_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 64 {
        return Err("a file name has 1 to 64 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || s.starts_with('.')
    {
        return Err("a file name may contain only letters, digits, '_', '-' and '.', and not start with '.'");
    }
    Ok(())
}

string_newtype!(
    /// A machine's serial number, as `clusterconfig list` shows it (`Serial #`).
    Serial,
    "serial number",
    validate_token
);
string_newtype!(
    /// The key `clusterconfig prepjoin print` shows; a CCS join must present it.
    UserKey,
    "user key",
    validate_token
);
string_newtype!(
    /// The name of a configuration file saved on a machine.
    FileName,
    "file name",
    validate_file_name
);

/// The fewest characters a password may have (rules §2.7: the password policy).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The password policy (rules §2.7): what a new password must satisfy. The one place it is decided: the
/// `userconfig` password column, `passwd`, and the server's first-start admin password all call it.
pub fn password_policy(password: &str) -> Result<(), &'static str> {
    if password.chars().any(|c| c.is_control()) {
        return Err("control characters are not allowed");
    }
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err("must be at least 8 characters long");
    }
    if n > MAX_PASSWORD_CHARS {
        return Err("must be at most 128 characters long");
    }
    Ok(())
}

/// An AsyncOS version, `X.Y.Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl Version {
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self { major, minor, patch }
    }

    pub fn parse(input: &str) -> Result<Self, NameError> {
        let err = |reason| name_error("version", input, reason);
        let parts: Vec<&str> = input.split('.').collect();
        if parts.len() != 3 {
            return Err(err("must be three numbers separated by dots, like 9.1.2"));
        }
        let num = |p: &str| {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return Err(err("each part must be a number"));
            }
            p.parse::<u16>().map_err(|_| err("a part is too large"))
        };
        Ok(Self {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: num(parts[2])?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Simulated time: milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs * 1000)
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    pub fn secs_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).div_euclid(1000)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn parse_iso(input: &str) -> Result<Self, NameError> {
        let err = |reason| name_error("timestamp", input, reason);
        let b = input.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(err("expected YYYY-MM-DDTHH:MM:SSZ"));
        }
        let n = |r: std::ops::Range<usize>| -> Result<i64, NameError> {
            input[r].parse::<i64>().map_err(|_| err("expected digits"))
        };
        let (y, mo, d, h, mi, s) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
            return Err(err("a field is out of range"));
        }
        let days = days_from_civil(y, mo, d);
        Ok(Self::from_secs(days * 86_400 + h * 3600 + mi * 60 + s))
    }
}

// Howard Hinnant's civil-date algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1000);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(Hostname::parse("newyork.example.com").is_ok());
        assert_eq!(
            Hostname::parse("NewYork.EXAMPLE.com").map(|h| h.to_string()),
            Ok("newyork.example.com".to_string())
        );
        assert_eq!(
            Hostname::parse("SF.example.com"),
            Hostname::parse("sf.example.com")
        );
        assert!(Hostname::parse("").is_err());
        assert!(Hostname::parse("a..b").is_err());
        assert!(Hostname::parse("bad host").is_err());
        assert!(Hostname::parse("-a.b").is_err());
    }

    #[test]
    fn versions_round_trip_and_order() {
        let v = Version::parse("9.1.2").unwrap();
        assert_eq!(v.to_string(), "9.1.2");
        assert!(Version::parse("9.5.0").unwrap() > v);
        assert!(Version::parse("9.1").is_err());
        assert!(Version::parse("9.x.1").is_err());
    }

    #[test]
    fn timestamps_round_trip() {
        let t = Timestamp::parse_iso("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(t.0, 1_767_225_600_000);
        let t2 = t.plus_secs(86_400 * 59 + 3661);
        assert_eq!(t2.to_string(), "2026-03-01T01:01:01Z");
        assert_eq!(Timestamp::parse_iso(&t2.to_string()).unwrap(), t2);
    }
}
