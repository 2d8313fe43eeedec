//! The words of a CLI line (rules §10): the tokenizer — double-quoted words may hold spaces and `\"`,
//! `\\` escapes; control characters are refused — and [`Words`], the cursor each command family's
//! parser reads its words with. Parse errors give the 1-based column and what was expected.

use crate::mode::Mode;
use crate::names::{GroupName, Hostname, Version};

/// A parse failure: 1-based column, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("at column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    pub column: usize,
    pub expected: String,
    pub found: String,
}

/// One word of a line, with its 1-based column and whether it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub column: usize,
    pub quoted: bool,
}

/// Lines longer than this are refused before tokenizing.
pub const MAX_LINE: usize = 4096;

/// Splits a line into words; a double-quoted word may contain spaces and `\"`, `\\` escapes.
pub fn tokenize(line: &str) -> Result<Vec<Token>, ParseError> {
    if line.len() > MAX_LINE {
        return Err(ParseError {
            column: MAX_LINE + 1,
            expected: format!("a line of at most {MAX_LINE} bytes"),
            found: format!("{} bytes", line.len()),
        });
    }
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_control() {
            return Err(ParseError {
                column: i + 1,
                expected: "printable text".into(),
                found: "a control character".into(),
            });
        }
        let column = i + 1;
        if c == '"' {
            let mut text = String::new();
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    // Control characters are refused in quoted words too (found by fuzzing: they
                    // parsed, then rendered unquoted and no longer parsed).
                    ch if ch.is_control()
                        || (ch == '\\' && chars.get(i + 1).is_some_and(|c| c.is_control())) =>
                    {
                        return Err(ParseError {
                            column: i + 1,
                            expected: "printable text".into(),
                            found: "a control character".into(),
                        });
                    }
                    '\\' if i + 1 < chars.len() => {
                        text.push(chars[i + 1]);
                        i += 2;
                    }
                    ch => {
                        text.push(ch);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(ParseError {
                    column,
                    expected: "a closing '\"'".into(),
                    found: "the end of the line".into(),
                });
            }
            tokens.push(Token {
                text,
                column,
                quoted: true,
            });
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '"' {
                    return Err(ParseError {
                        column: i + 1,
                        expected: "a space before a quoted word".into(),
                        found: "'\"'".into(),
                    });
                }
                if chars[i].is_control() {
                    return Err(ParseError {
                        column: i + 1,
                        expected: "printable text".into(),
                        found: "a control character".into(),
                    });
                }
                i += 1;
            }
            tokens.push(Token {
                text: chars[start..i].iter().collect(),
                column,
                quoted: false,
            });
        }
    }
    Ok(tokens)
}

/// The words of one line, consumed left to right by a command family's parser.
pub struct Words<'a> {
    tokens: &'a [Token],
    pos: usize,
    end_column: usize,
}

impl<'a> Words<'a> {
    pub fn new(tokens: &'a [Token], line: &str) -> Self {
        Words {
            tokens,
            pos: 0,
            end_column: line.chars().count() + 1,
        }
    }

    /// Every word, in order.
    pub fn tokens(&self) -> &'a [Token] {
        self.tokens
    }

    pub fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    pub fn column(&self) -> usize {
        self.peek().map(|t| t.column).unwrap_or(self.end_column)
    }

    pub fn err(&self, expected: impl Into<String>) -> ParseError {
        ParseError {
            column: self.column(),
            expected: expected.into(),
            found: match self.peek() {
                Some(t) => format!("\"{}\"", t.text.chars().take(40).collect::<String>()),
                None => "the end of the line".into(),
            },
        }
    }

    pub fn next(&mut self, expected: &str) -> Result<&'a Token, ParseError> {
        let t = self.peek().ok_or_else(|| self.err(expected))?;
        self.pos += 1;
        Ok(t)
    }

    pub fn word(&mut self, expected: &str) -> Result<String, ParseError> {
        Ok(self.next(expected)?.text.clone())
    }

    /// The next word if it is one of `keywords` (case-insensitive, unquoted).
    pub fn keyword(&mut self, keywords: &[&str]) -> Option<String> {
        let t = self.peek()?;
        if t.quoted {
            return None;
        }
        let lower = t.text.to_ascii_lowercase();
        if keywords.contains(&lower.as_str()) {
            self.pos += 1;
            Some(lower)
        } else {
            None
        }
    }

    pub fn expect_keyword(&mut self, keywords: &[&str]) -> Result<String, ParseError> {
        let expected = one_of(keywords);
        self.keyword(keywords).ok_or_else(|| self.err(expected))
    }

    pub fn parsed<T>(
        &mut self,
        expected: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ParseError> {
        let column = self.column();
        let t = self.next(expected)?;
        f(&t.text).map_err(|reason| ParseError {
            column,
            expected: expected.to_string(),
            found: format!("\"{}\" ({reason})", t.text.chars().take(40).collect::<String>()),
        })
    }

    pub fn host(&mut self) -> Result<Hostname, ParseError> {
        self.parsed("a machine's hostname", |s| {
            Hostname::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    pub fn group(&mut self) -> Result<GroupName, ParseError> {
        self.parsed("a group name", |s| {
            GroupName::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    pub fn mode(&mut self) -> Result<Mode, ParseError> {
        self.parsed("a mode (cluster, group:<name> or machine:<host>)", |s| {
            Mode::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    pub fn version(&mut self) -> Result<Version, ParseError> {
        self.parsed("a version like 9.5.0", |s| {
            Version::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    pub fn rest(&mut self) -> Vec<String> {
        let out = self.tokens[self.pos..].iter().map(|t| t.text.clone()).collect();
        self.pos = self.tokens.len();
        out
    }

    pub fn done(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("the end of the line")),
        }
    }
}

/// "one of a, b, c" (or the one word).
pub fn one_of(words: &[&str]) -> String {
    match words {
        [one] => one.to_string(),
        _ => format!("one of {}", words.join(", ")),
    }
}

impl Words<'_> {
    /// Skips the next word (after a `peek` the caller has consumed).
    pub fn advance(&mut self) {
        self.pos += 1;
    }

    /// The next word parsed as `T` with `parse` (a name type's `parse`), or an error naming `expected`.
    pub fn name<T>(
        &mut self,
        expected: &str,
        parse: impl Fn(&str) -> Result<T, crate::names::NameError>,
    ) -> Result<T, ParseError> {
        self.parsed(expected, |s| parse(s).map_err(|e| e.reason.to_string()))
    }

    /// Whether every word has been read.
    pub fn is_empty(&self) -> bool {
        self.peek().is_none()
    }
}
