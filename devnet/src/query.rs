//! CometBFT v0.38's event query language (`libs/pubsub/query`), as
//! `subscribe`, `tx_search` and `block_search` take it: conditions joined by
//! `AND`, each a composite event key (`transfer.recipient`, `tx.height`,
//! `tm.event`) with `=`, `<`, `<=`, `>`, `>=` or `CONTAINS` and an argument
//! (`'string'`, a number, `TIME 2006-01-02T15:04:05Z`, `DATE 2006-01-02`),
//! or `EXISTS`.
//!
//! The scanner and parser follow CometBFT's `query/syntax` token for token,
//! so the same text parses (or fails, with the same message) on both: strings
//! are single-quoted with no escapes, numbers are unsigned (`5`, `1.5`, `5.`),
//! a key starts with a letter, a digit or `_` and goes on with those, `.` and
//! `-`, and `TIME`/`DATE` take exactly one space before their value.
//!
//! [`Query::matches`] is CometBFT's subscription matcher (`query.go`); the
//! index searches, whose semantics differ, are in [`crate::search`]. Numbers
//! are exact decimals (this crate is free of floating point), where CometBFT
//! uses 125-bit floats: they agree on every value below 37 significant digits.

use std::{cmp::Ordering, collections::BTreeMap, fmt};

use tendermint::Time;

/// The longest query `tx_search` and `subscribe` take (CometBFT's `maxQueryLength`).
pub const MAX_QUERY_LENGTH: usize = 512;

/// Why a query does not parse. `Display` writes CometBFT's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The scanner failed at the token starting at `offset`.
    #[error("offset {offset}: {reason}")]
    Scan {
        /// Byte offset of the token.
        offset: usize,
        /// CometBFT's scanner message (`EOF`, `invalid input …`).
        reason: String,
    },
    /// A token of a kind the grammar does not allow there.
    #[error("offset {offset}: got {got}, wanted {wanted}")]
    Unexpected {
        /// Byte offset of the token.
        offset: usize,
        /// The token found (`tag`, `= operator`, …).
        got: &'static str,
        /// What the grammar allows.
        wanted: &'static str,
    },
    /// Something other than `AND` after a condition. CometBFT prints the
    /// wanted token as its number (6): kept, since clients may match on it.
    #[error("offset {offset}: got {got}, want 6")]
    NotAnd {
        /// Byte offset of the token.
        offset: usize,
        /// The token found.
        got: &'static str,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `CONTAINS`
    Contains,
    /// `EXISTS`
    Exists,
}

impl Op {
    /// Whether the operator is one of the four range comparisons.
    pub fn is_range(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "CONTAINS",
            Op::Exists => "EXISTS",
        })
    }
}

/// An exact decimal number: sign, integer digits without leading zeros,
/// fraction digits without trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

/// The most an exponent may shift a value's decimal point: beyond it a
/// value is treated as not a number (CometBFT would round it to a float).
const MAX_EXPONENT: i64 = 4_096;

impl Decimal {
    fn new(negative: bool, int: &str, frac: &str) -> Decimal {
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let zero = int.is_empty() && frac.is_empty();
        Decimal {
            negative: negative && !zero,
            int,
            frac,
        }
    }

    /// A query's number argument as CometBFT's scanner reads one:
    /// `[0-9]+(\.[0-9]*)?`.
    pub fn parse_arg(s: &str) -> Option<Decimal> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        (!int.is_empty() && digits(int) && digits(frac)).then(|| Decimal::new(false, int, frac))
    }

    /// An indexed value as CometBFT's index searches read one for a range:
    /// the whole value must be a number (Go's `big.Int` or `big.Float`
    /// syntax: a sign, digits with an optional fraction, an optional
    /// exponent), so `100udeai` is not one.
    pub fn parse_value(s: &str) -> Option<Decimal> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => {
                let e = &body[i + 1..];
                let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (&body[..i], e.parse::<i64>().ok()?)
            }
            None => (body, 0),
        };
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&exp) {
            return None;
        }
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
            return None;
        }
        // Shift the decimal point by the exponent.
        let all = format!("{int}{frac}");
        let point = i64::try_from(int.len()).ok()? + exp;
        let (int, frac) = if point <= 0 {
            let zeros = "0".repeat(usize::try_from(-point).ok()?);
            (String::new(), format!("{zeros}{all}"))
        } else {
            let point = usize::try_from(point).ok()?;
            if point >= all.len() {
                (
                    format!("{all}{}", "0".repeat(point - all.len())),
                    String::new(),
                )
            } else {
                (all[..point].to_string(), all[point..].to_string())
            }
        };
        Some(Decimal::new(negative, &int, &frac))
    }

    /// The number at the start of an attribute value as CometBFT's
    /// subscription matcher reads it (`^\d+(\.\d+)?`: `100udeai` is 100, a
    /// value starting with a sign is not a number).
    pub fn leading(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let int_end = b
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(b.len());
        if int_end == 0 {
            return None;
        }
        let mut end = int_end;
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        let frac = if end > int_end {
            &s[int_end + 1..end]
        } else {
            ""
        };
        Some(Decimal::new(false, &s[..int_end], frac))
    }

    /// The integer part, truncated toward zero, as Go's `big.Float.Int64`
    /// gives it (saturating).
    pub fn trunc_i64(&self) -> i64 {
        let magnitude = if self.int.is_empty() {
            0
        } else {
            self.int.parse::<i64>().unwrap_or(i64::MAX)
        };
        if self.negative {
            -magnitude
        } else {
            magnitude
        }
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(&other.int))
            .then_with(|| self.frac.cmp(&other.frac))
    }
}

impl From<u64> for Decimal {
    fn from(n: u64) -> Decimal {
        Decimal::new(false, &n.to_string(), "")
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The kind of a condition's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// `'text'`
    String,
    /// `5`, `1.5`
    Number,
    /// `TIME 2006-01-02T15:04:05Z`
    Time,
    /// `DATE 2006-01-02`
    Date,
}

/// A condition's argument: its kind and its text as written (without the
/// quotes or the `TIME`/`DATE` label), which the index searches compare
/// verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The kind.
    pub kind: ArgKind,
    /// The text.
    pub text: String,
}

impl Arg {
    /// The text as a number, whatever the kind (CometBFT's `Arg.Number`:
    /// `tx.height = '5'` is 5 to the height search).
    pub fn number(&self) -> Option<Decimal> {
        Decimal::parse_arg(&self.text)
    }

    /// The time of a `TIME` or `DATE` argument.
    pub fn time(&self) -> Option<Time> {
        match self.kind {
            ArgKind::Time => Time::parse_from_rfc3339(&self.text).ok(),
            ArgKind::Date => parse_date(&self.text),
            _ => None,
        }
    }
}

/// One condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The composite event key (`type.attribute`).
    pub tag: String,
    /// The operator.
    pub op: Op,
    /// The argument (none for `EXISTS`).
    pub arg: Option<Arg>,
}

impl Condition {
    /// The composite key the condition is about.
    pub fn key(&self) -> &str {
        &self.tag
    }

    /// The argument's text (empty for `EXISTS`), as CometBFT's `Arg.Value`.
    pub fn value(&self) -> &str {
        self.arg.as_ref().map_or("", |a| a.text.as_str())
    }

    /// Whether one attribute value satisfies the condition, as CometBFT's
    /// subscription matcher decides.
    pub fn matches_value(&self, value: &str) -> bool {
        let Some(arg) = &self.arg else {
            return true;
        };
        let ord = match arg.kind {
            ArgKind::String => {
                return match self.op {
                    Op::Eq => value == arg.text,
                    Op::Contains => value.contains(arg.text.as_str()),
                    _ => false,
                }
            }
            ArgKind::Number => Decimal::leading(value)
                .zip(arg.number())
                .map(|(v, n)| v.cmp(&n)),
            ArgKind::Time => Time::parse_from_rfc3339(value)
                .ok()
                .zip(arg.time())
                .map(|(v, t)| v.cmp(&t)),
            ArgKind::Date => parse_date(value).zip(arg.time()).map(|(v, t)| v.cmp(&t)),
        };
        let Some(ord) = ord else {
            return false;
        };
        match self.op {
            Op::Eq => ord == Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Contains | Op::Exists => false,
        }
    }

    /// Whether `events` satisfy the condition, as CometBFT's subscription
    /// matcher decides: some value of the key does; or, when the key names
    /// an event type itself (`transfer`, `tm`), the empty string does.
    pub fn matches(&self, events: &BTreeMap<String, Vec<String>>) -> bool {
        if events
            .get(&self.tag)
            .is_some_and(|values| values.iter().any(|v| self.matches_value(v)))
        {
            return true;
        }
        // CometBFT expands each composite key into an event whose type is
        // everything before the last dot.
        let names_a_type = events
            .keys()
            .any(|k| k.rsplit_once('.').is_some_and(|(kind, _)| kind == self.tag));
        names_a_type && self.matches_value("")
    }
}

/// A parsed query: conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The conditions, in the order written.
    pub conditions: Vec<Condition>,
}

impl Query {
    /// Parses a query in CometBFT's syntax.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut s = Scanner::new(text);
        let mut conditions = vec![condition(&mut s)?];
        loop {
            match s.next() {
                Err(Scanned::Eof) => break,
                Ok(Token::And) => conditions.push(condition(&mut s)?),
                Ok(other) => {
                    return Err(QueryError::NotAnd {
                        offset: s.pos,
                        got: other.name(),
                    })
                }
                // CometBFT loops on anything but EOF; a scanning error
                // leaves the token invalid.
                Err(_) => {
                    return Err(QueryError::NotAnd {
                        offset: s.pos,
                        got: "invalid token",
                    })
                }
            }
        }
        Ok(Query { conditions })
    }

    /// Whether `events` (composite key to values) satisfy every condition.
    pub fn matches(&self, events: &BTreeMap<String, Vec<String>>) -> bool {
        !events.is_empty() && self.conditions.iter().all(|c| c.matches(events))
    }
}

/// Parses `YYYY-MM-DD` (Go's `2006-01-02`) as midnight UTC.
fn parse_date(s: &str) -> Option<Time> {
    let ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !ok {
        return None;
    }
    Time::parse_from_rfc3339(&format!("{s}T00:00:00Z")).ok()
}

/// A lexical token (CometBFT's `syntax.Token`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Tag(String),
    String(String),
    Number(String),
    Time(String),
    Date(String),
    And,
    Contains,
    Exists,
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Token {
    /// The name CometBFT's messages give the token.
    fn name(&self) -> &'static str {
        match self {
            Token::Tag(_) => "tag",
            Token::String(_) => "string",
            Token::Number(_) => "number",
            Token::Time(_) => "timestamp",
            Token::Date(_) => "datestamp",
            Token::And => "AND operator",
            Token::Contains => "CONTAINS operator",
            Token::Exists => "EXISTS operator",
            Token::Eq => "= operator",
            Token::Lt => "< operator",
            Token::Le => "<= operator",
            Token::Gt => "> operator",
            Token::Ge => ">= operator",
        }
    }
}

/// Why the scanner gave no token.
enum Scanned {
    Eof,
    Error(String),
}

/// CometBFT's `syntax.Scanner`: `pos` is where the current token starts,
/// `end` where reading stopped, both in bytes.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    end: usize,
}

fn is_tag_char(c: char) -> bool {
    c == '.' || c == '_' || c == '-' || c.is_alphabetic() || c.is_numeric()
}

fn is_first_tag_char(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            pos: 0,
            end: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.end..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.end += c.len_utf8();
        Some(c)
    }

    /// Reads characters while `ok` holds.
    fn take_while(&mut self, ok: impl Fn(char) -> bool) -> &'a str {
        let start = self.end;
        while self.peek().is_some_and(&ok) {
            self.bump();
        }
        &self.text[start..self.end]
    }

    fn next(&mut self) -> Result<Token, Scanned> {
        self.pos = self.end;
        loop {
            let Some(c) = self.bump() else {
                return Err(Scanned::Eof);
            };
            if c.is_whitespace() {
                self.pos = self.end;
                continue;
            }
            if c.is_ascii_digit() {
                return Ok(self.number());
            }
            if is_first_tag_char(c) {
                return self.tag_like();
            }
            return match c {
                '\'' => self.string(),
                '=' => Ok(Token::Eq),
                '<' | '>' => {
                    let or_equal = self.peek() == Some('=');
                    if or_equal {
                        self.bump();
                    }
                    Ok(match (c, or_equal) {
                        ('<', false) => Token::Lt,
                        ('<', true) => Token::Le,
                        (_, false) => Token::Gt,
                        (_, true) => Token::Ge,
                    })
                }
                other => Err(Scanned::Error(format!(
                    "invalid input {other} at offset {}",
                    self.end
                ))),
            };
        }
    }

    fn number(&mut self) -> Token {
        self.take_while(|c| c.is_ascii_digit());
        if self.peek() == Some('.') {
            self.bump();
            self.take_while(|c| c.is_ascii_digit());
        }
        Token::Number(self.text[self.pos..self.end].to_string())
    }

    fn string(&mut self) -> Result<Token, Scanned> {
        let body = self.take_while(|c| c != '\'');
        if self.bump().is_none() {
            return Err(Scanned::Eof);
        }
        Ok(Token::String(body.to_string()))
    }

    fn tag_like(&mut self) -> Result<Token, Scanned> {
        self.take_while(is_tag_char);
        let text = &self.text[self.pos..self.end];
        // `TIME` and `DATE` take their value after exactly one space.
        let spaced = self.peek() == Some(' ');
        Ok(match text {
            "TIME" if spaced => {
                self.bump();
                let value = self.take_while(|c| c.is_ascii_digit() || "-T:+Z".contains(c));
                check_stamp(value, "TIME", Time::parse_from_rfc3339(value).ok())?;
                Token::Time(value.to_string())
            }
            "DATE" if spaced => {
                self.bump();
                let value = self.take_while(|c| c.is_ascii_digit() || c == '-');
                check_stamp(value, "DATE", parse_date(value))?;
                Token::Date(value.to_string())
            }
            "AND" => Token::And,
            "EXISTS" => Token::Exists,
            "CONTAINS" => Token::Contains,
            _ => Token::Tag(text.to_string()),
        })
    }
}

/// Refuses a `TIME` or `DATE` value that does not parse or whose year is
/// outside CometBFT's 1900–2999.
fn check_stamp(value: &str, label: &str, parsed: Option<Time>) -> Result<(), Scanned> {
    let layout = if label == "TIME" {
        "2006-01-02T15:04:05Z07:00"
    } else {
        "2006-01-02"
    };
    let Some(t) = parsed else {
        return Err(Scanned::Error(format!(
            "invalid {label} value: parsing time {value:?} as {layout:?}: cannot parse {value:?}"
        )));
    };
    let year: i64 = t
        .to_rfc3339()
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(0);
    if !(1900..=2999).contains(&year) {
        let kind = if label == "TIME" {
            "timestamp"
        } else {
            "datestamp"
        };
        return Err(Scanned::Error(format!("{kind} year {year} out of range")));
    }
    Ok(())
}

/// Advances to the next token, which must be one `accept` takes.
fn require<T>(
    s: &mut Scanner<'_>,
    wanted: &'static str,
    accept: impl Fn(Token) -> Result<T, Token>,
) -> Result<T, QueryError> {
    let token = s.next().map_err(|e| QueryError::Scan {
        offset: s.pos,
        reason: match e {
            Scanned::Eof => "EOF".to_string(),
            Scanned::Error(reason) => reason,
        },
    })?;
    accept(token).map_err(|t| QueryError::Unexpected {
        offset: s.pos,
        got: t.name(),
        wanted,
    })
}

/// One condition: `tag op argument`, or `tag EXISTS`.
fn condition(s: &mut Scanner<'_>) -> Result<Condition, QueryError> {
    let tag = require(s, "tag", |t| match t {
        Token::Tag(tag) => Ok(tag),
        other => Err(other),
    })?;
    let op = require(
        s,
        "<= operator, >= operator, < operator, > operator, = operator, CONTAINS operator or EXISTS operator",
        |t| match t {
            Token::Le => Ok(Op::Le),
            Token::Ge => Ok(Op::Ge),
            Token::Lt => Ok(Op::Lt),
            Token::Gt => Ok(Op::Gt),
            Token::Eq => Ok(Op::Eq),
            Token::Contains => Ok(Op::Contains),
            Token::Exists => Ok(Op::Exists),
            other => Err(other),
        },
    )?;
    let arg = |kind, text| Ok(Some(Arg { kind, text }));
    let arg = match op {
        Op::Exists => None,
        Op::Contains => require(s, "string", |t| match t {
            Token::String(text) => arg(ArgKind::String, text),
            other => Err(other),
        })?,
        Op::Eq => require(s, "number, timestamp, datestamp or string", |t| match t {
            Token::Number(text) => arg(ArgKind::Number, text),
            Token::Time(text) => arg(ArgKind::Time, text),
            Token::Date(text) => arg(ArgKind::Date, text),
            Token::String(text) => arg(ArgKind::String, text),
            other => Err(other),
        })?,
        _ => require(s, "number, timestamp or datestamp", |t| match t {
            Token::Number(text) => arg(ArgKind::Number, text),
            Token::Time(text) => arg(ArgKind::Time, text),
            Token::Date(text) => arg(ArgKind::Date, text),
            other => Err(other),
        })?,
    };
    Ok(Condition { tag, op, arg })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    fn error(q: &str) -> String {
        Query::parse(q).unwrap_err().to_string()
    }

    #[test]
    fn queries_written_by_tendermint_rpc_parse_and_match() {
        let q = tendermint_rpc::query::Query::from(tendermint_rpc::query::EventType::Tx)
            .and_eq("transfer.recipient", "deai1abc")
            .and_gt("tx.height", 3u64)
            .and_contains("message.sender", "me")
            .and_exists("tx.hash");
        let parsed = Query::parse(&q.to_string()).unwrap();
        assert_eq!(parsed.conditions.len(), 5);
        let ev = events(&[
            ("tm.event", "Tx"),
            ("transfer.recipient", "deai1xyz"),
            ("transfer.recipient", "deai1abc"),
            ("tx.height", "4"),
            ("tx.hash", "AB"),
            ("message.sender", "so it's me"),
        ]);
        assert!(parsed.matches(&ev));
        let mut low = ev.clone();
        low.insert("tx.height".into(), vec!["3".into()]);
        assert!(!parsed.matches(&low));
    }

    #[test]
    fn numbers_compare_by_their_leading_digits_and_a_signed_value_is_no_number() {
        let q = Query::parse("transfer.amount >= 100 AND tx.height<=5.5").unwrap();
        assert!(q.matches(&events(&[
            ("transfer.amount", "100udeai"),
            ("tx.height", "5")
        ])));
        assert!(!q.matches(&events(&[
            ("transfer.amount", "99udeai"),
            ("tx.height", "5")
        ])));
        assert!(!q.matches(&events(&[("transfer.amount", "1000"), ("tx.height", "6")])));
        let below = Query::parse("a.n < 1").unwrap();
        assert!(!below.matches(&events(&[("a.n", "-5")])));
        assert!(!below.matches(&events(&[("a.n", "+0")])));
        assert_eq!(Decimal::parse_arg("007.50"), Decimal::parse_arg("7.5"));
        assert_eq!(Decimal::parse_arg("5."), Decimal::parse_arg("5"));
        assert!(Decimal::parse_value("-2").unwrap() < Decimal::parse_value("-1.5").unwrap());
        assert_eq!(Decimal::parse_value("1.5e2"), Decimal::parse_arg("150"));
        assert_eq!(Decimal::parse_value("+25E-1"), Decimal::parse_arg("2.5"));
        assert_eq!(Decimal::parse_value("100udeai"), None);
    }

    #[test]
    fn times_match_times_and_dates_match_dates() {
        let q = Query::parse("a.t > TIME 2024-01-01T00:00:00Z AND a.d = DATE 2024-02-03").unwrap();
        assert!(q.matches(&events(&[
            ("a.t", "2024-01-01T00:00:01Z"),
            ("a.d", "2024-02-03")
        ])));
        assert!(!q.matches(&events(&[
            ("a.t", "2023-12-31T23:59:59Z"),
            ("a.d", "2024-02-03")
        ])));
        // A date value is no time, and a time value no date.
        assert!(!q.matches(&events(&[("a.t", "2024-05-05"), ("a.d", "2024-02-03")])));
        assert!(!q.matches(&events(&[
            ("a.t", "2024-01-01T00:00:01Z"),
            ("a.d", "2024-02-03T00:00:00Z")
        ])));
    }

    #[test]
    fn malformed_queries_fail_with_cometbfts_messages() {
        for (q, message) in [
            ("", "offset 0: EOF"),
            ("tm.event", "offset 8: EOF"),
            ("tm.event = 'Tx", "offset 11: EOF"),
            (
                "tm.event = \"Tx\"",
                "offset 11: invalid input \" at offset 12",
            ),
            (
                "tx.height=x",
                "offset 10: got tag, wanted number, timestamp, datestamp or string",
            ),
            (
                "tm.event == 'Tx'",
                "offset 10: got = operator, wanted number, timestamp, datestamp or string",
            ),
            ("a.b = 'it\\'s'", "offset 11: got tag, want 6"),
            ("tm.event = 'Tx' OR a.b = 1", "offset 16: got tag, want 6"),
            ("a/b = 'x'", "offset 1: invalid input / at offset 2"),
            ("a.b = 1 /", "offset 8: got invalid token, want 6"),
            ("a.b = -5", "offset 6: invalid input - at offset 7"),
            (
                "tx.height > 'abc'",
                "offset 12: got string, wanted number, timestamp or datestamp",
            ),
            ("tx.height CONTAINS 5", "offset 19: got number, wanted string"),
            (
                "= 'x'",
                "offset 0: got = operator, wanted tag",
            ),
            (
                "a.b 'x'",
                "offset 4: got string, wanted <= operator, >= operator, < operator, > operator, = operator, CONTAINS operator or EXISTS operator",
            ),
            ("x.y = DATE 1800-01-01", "offset 6: datestamp year 1800 out of range"),
        ] {
            assert_eq!(error(q), message, "{q:?}");
        }
        assert!(error("x.y > TIME 2020-01-01T00:00:00.5Z")
            .starts_with("offset 6: invalid TIME value: parsing time \"2020-01-01T00:00:00\""));
        assert!(error("TIME EXISTS").starts_with("offset 0: invalid TIME value"));
    }

    #[test]
    fn keys_numbers_and_keywords_scan_as_cometbfts_do() {
        let q = Query::parse("_x.y-z EXISTS AND tx.height = 5. AND TIME=3 AND a.b<=7").unwrap();
        let tags: Vec<&str> = q.conditions.iter().map(|c| c.key()).collect();
        assert_eq!(tags, ["_x.y-z", "tx.height", "TIME", "a.b"]);
        assert_eq!(q.conditions[1].value(), "5.");
        assert_eq!(q.conditions[3].op, Op::Le);
        // `AND` must be upper case.
        assert!(Query::parse("a.b = 1 and c.d = 2").is_err());
    }

    #[test]
    fn a_missing_key_fails_every_condition_but_a_key_naming_an_event_type_exists() {
        let ev = events(&[("message.action", ""), ("tm.event", "Tx")]);
        assert!(Query::parse("message.action EXISTS").unwrap().matches(&ev));
        assert!(!Query::parse("message.module EXISTS").unwrap().matches(&ev));
        assert!(!Query::parse("message.module = ''").unwrap().matches(&ev));
        // CometBFT matches a key that is an event type against "".
        assert!(Query::parse("message EXISTS").unwrap().matches(&ev));
        assert!(Query::parse("tm = ''").unwrap().matches(&ev));
        assert!(!Query::parse("tm = 'x'").unwrap().matches(&ev));
    }
}
