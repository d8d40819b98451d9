//! CometBFT's event query language, as `subscribe`, `tx_search` and
//! `block_search` take it: conditions joined by `AND`, each a composite
//! event key (`transfer.recipient`, `tx.height`, `tm.event`) with `=`, `<`,
//! `<=`, `>`, `>=` or `CONTAINS` and an operand (`'string'`, a number,
//! `TIME 2006-01-02T15:04:05Z`, `DATE 2006-01-02`), or `EXISTS`.
//!
//! A condition holds for a set of events when any value of its key
//! satisfies it, and a query holds when all its conditions do — CometBFT
//! v0.38's semantics. Numbers are compared as exact decimals (the crate is
//! free of floating point); an attribute value such as `100udeai` compares
//! as its leading number, as CometBFT's matcher does.

use std::{cmp::Ordering, collections::BTreeMap, fmt};

use tendermint::Time;

/// Why a query does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query is empty.
    #[error("the query is empty")]
    Empty,
    /// Something other than what the grammar allows at a position.
    #[error("at byte {at}: expected {expected}, found {found}")]
    Unexpected {
        /// Byte offset in the query.
        at: usize,
        /// What the grammar allows there.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A string operand without its closing quote.
    #[error("at byte {0}: unterminated string")]
    UnterminatedString(usize),
    /// A number, time or date that does not parse.
    #[error("at byte {at}: invalid {kind} {text:?}")]
    BadLiteral {
        /// Byte offset in the query.
        at: usize,
        /// `number`, `time` or `date`.
        kind: &'static str,
        /// The literal.
        text: String,
    },
    /// An operator that does not apply to its operand (`CONTAINS 5`, `< 'a'`).
    #[error("operator {op} cannot compare {key} with a {operand}")]
    BadOperator {
        /// The condition's key.
        key: String,
        /// The operator.
        op: Op,
        /// The operand's kind.
        operand: &'static str,
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

impl Decimal {
    /// Parses `-?[0-9]+(\.[0-9]+)?`.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !digits(int)
            || !digits(frac)
            || (body.contains('.') && frac.is_empty())
        {
            return None;
        }
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let zero = int.is_empty() && frac.is_empty();
        Some(Decimal {
            negative: negative && !zero,
            int,
            frac,
        })
    }

    /// The number at the start of an attribute value (`100udeai` is 100),
    /// if it starts with one.
    pub fn leading(s: &str) -> Option<Decimal> {
        if let Some(d) = Decimal::parse(s) {
            return Some(d);
        }
        let b = s.as_bytes();
        let mut end = usize::from(b.first() == Some(&b'-'));
        let int_start = end;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == int_start {
            return None;
        }
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        Decimal::parse(&s[..end])
    }

    /// The number as CometBFT writes a non-negative integer (`0`, `42`),
    /// if it is one.
    pub fn as_natural(&self) -> Option<String> {
        if self.negative || !self.frac.is_empty() {
            return None;
        }
        Some(if self.int.is_empty() {
            "0".to_string()
        } else {
            self.int.clone()
        })
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(&other.int))
            .then_with(|| self.frac.cmp(&other.frac))
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

/// What a condition compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// `'text'`
    String(String),
    /// `5`, `-1.5`
    Number(Decimal),
    /// `TIME 2006-01-02T15:04:05Z`
    Time(Time),
    /// `DATE 2006-01-02` (midnight UTC)
    Date(Time),
}

impl Operand {
    fn kind(&self) -> &'static str {
        match self {
            Operand::String(_) => "string",
            Operand::Number(_) => "number",
            Operand::Time(_) => "time",
            Operand::Date(_) => "date",
        }
    }
}

/// One condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `key EXISTS`
    Exists(String),
    /// `key op operand`
    Compare {
        /// The composite event key (`type.attribute`).
        key: String,
        /// The operator.
        op: Op,
        /// The operand.
        operand: Operand,
    },
}

impl Condition {
    /// The composite key the condition is about.
    pub fn key(&self) -> &str {
        match self {
            Condition::Exists(k) => k,
            Condition::Compare { key, .. } => key,
        }
    }

    /// Whether one attribute value satisfies the condition.
    pub fn matches_value(&self, value: &str) -> bool {
        let Condition::Compare { op, operand, .. } = self else {
            return true;
        };
        let ord = match operand {
            Operand::String(s) => {
                return match op {
                    Op::Eq => value == s,
                    Op::Contains => value.contains(s.as_str()),
                    _ => false,
                }
            }
            Operand::Number(n) => Decimal::leading(value).map(|v| v.cmp(n)),
            Operand::Time(t) | Operand::Date(t) => parse_time(value).map(|v| v.cmp(t)),
        };
        let Some(ord) = ord else {
            return false;
        };
        match op {
            Op::Eq => ord == Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Contains => false,
        }
    }

    /// Whether any value of the key in `events` satisfies the condition.
    pub fn matches(&self, events: &BTreeMap<String, Vec<String>>) -> bool {
        events
            .get(self.key())
            .is_some_and(|values| values.iter().any(|v| self.matches_value(v)))
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
        let mut p = Parser { text, pos: 0 };
        let mut conditions = vec![p.condition()?];
        loop {
            p.skip_space();
            if p.pos == text.len() {
                break;
            }
            p.keyword("AND", "AND or the end of the query")?;
            conditions.push(p.condition()?);
        }
        Ok(Query { conditions })
    }

    /// Whether `events` (composite key to values) satisfy every condition.
    pub fn matches(&self, events: &BTreeMap<String, Vec<String>>) -> bool {
        self.conditions.iter().all(|c| c.matches(events))
    }
}

/// Parses an attribute value as RFC 3339 time or as a `YYYY-MM-DD` date.
fn parse_time(s: &str) -> Option<Time> {
    Time::parse_from_rfc3339(s).ok().or_else(|| parse_date(s))
}

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

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':')
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn unexpected(&self, expected: &'static str) -> QueryError {
        let found = self.rest().chars().take(16).collect::<String>();
        QueryError::Unexpected {
            at: self.pos,
            expected,
            found: if found.is_empty() {
                "the end of the query".to_string()
            } else {
                format!("{found:?}")
            },
        }
    }

    /// A run of key characters (a key, a keyword, a number, a time).
    fn word(&mut self) -> &str {
        self.skip_space();
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !is_key_char(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.text[start..self.pos]
    }

    fn keyword(&mut self, kw: &str, expected: &'static str) -> Result<(), QueryError> {
        self.skip_space();
        let at = self.pos;
        if self.word() == kw {
            Ok(())
        } else {
            self.pos = at;
            Err(self.unexpected(expected))
        }
    }

    fn condition(&mut self) -> Result<Condition, QueryError> {
        self.skip_space();
        if self.text.trim().is_empty() {
            return Err(QueryError::Empty);
        }
        let at = self.pos;
        let key = self.word().to_string();
        if key.is_empty() || !key.starts_with(|c: char| c.is_alphabetic()) || is_reserved(&key) {
            self.pos = at;
            return Err(self.unexpected("an event key such as tm.event or transfer.recipient"));
        }
        self.skip_space();
        let op = if let Some(r) = self.rest().strip_prefix("<=") {
            self.pos = self.text.len() - r.len();
            Op::Le
        } else if let Some(r) = self.rest().strip_prefix(">=") {
            self.pos = self.text.len() - r.len();
            Op::Ge
        } else if let Some(r) = self.rest().strip_prefix('<') {
            self.pos = self.text.len() - r.len();
            Op::Lt
        } else if let Some(r) = self.rest().strip_prefix('>') {
            self.pos = self.text.len() - r.len();
            Op::Gt
        } else if let Some(r) = self.rest().strip_prefix('=') {
            self.pos = self.text.len() - r.len();
            Op::Eq
        } else {
            let at = self.pos;
            match self.word() {
                "CONTAINS" => Op::Contains,
                "EXISTS" => return Ok(Condition::Exists(key)),
                _ => {
                    self.pos = at;
                    return Err(self.unexpected("an operator (=, <, <=, >, >=, CONTAINS, EXISTS)"));
                }
            }
        };
        let operand = self.operand()?;
        let fits = match (&operand, op) {
            (Operand::String(_), Op::Eq | Op::Contains) => true,
            (Operand::String(_), _) | (_, Op::Contains) => false,
            _ => true,
        };
        if !fits {
            return Err(QueryError::BadOperator {
                key,
                op,
                operand: operand.kind(),
            });
        }
        Ok(Condition::Compare { key, op, operand })
    }

    fn operand(&mut self) -> Result<Operand, QueryError> {
        self.skip_space();
        let at = self.pos;
        if let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
        {
            return self.string(quote).map(Operand::String);
        }
        let word = self.word().to_string();
        match word.as_str() {
            "TIME" | "DATE" => {
                let lit_at = {
                    self.skip_space();
                    self.pos
                };
                let len = self
                    .rest()
                    .find(char::is_whitespace)
                    .unwrap_or(self.rest().len());
                let lit = &self.text[lit_at..lit_at + len];
                self.pos = lit_at + len;
                let bad = |kind| QueryError::BadLiteral {
                    at: lit_at,
                    kind,
                    text: lit.to_string(),
                };
                if word == "TIME" {
                    Time::parse_from_rfc3339(lit)
                        .map(Operand::Time)
                        .map_err(|_| bad("time"))
                } else {
                    parse_date(lit)
                        .map(Operand::Date)
                        .ok_or_else(|| bad("date"))
                }
            }
            w if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') => Decimal::parse(w)
                .map(Operand::Number)
                .ok_or_else(|| QueryError::BadLiteral {
                    at,
                    kind: "number",
                    text: w.to_string(),
                }),
            _ => {
                self.pos = at;
                Err(self.unexpected("a 'quoted string', a number, TIME or DATE"))
            }
        }
    }

    /// A quoted string; `\` escapes the next character (tendermint-rpc's
    /// `Query` writes `\'` for a quote).
    fn string(&mut self, quote: char) -> Result<String, QueryError> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c if c == quote => {
                    self.pos = start + i + c.len_utf8();
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(QueryError::UnterminatedString(start))
    }
}

fn is_reserved(word: &str) -> bool {
    matches!(word, "AND" | "CONTAINS" | "EXISTS" | "TIME" | "DATE")
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

    #[test]
    fn queries_written_by_tendermint_rpc_parse_and_match() {
        let q = tendermint_rpc::query::Query::from(tendermint_rpc::query::EventType::Tx)
            .and_eq("transfer.recipient", "deai1abc")
            .and_gt("tx.height", 3u64)
            .and_contains("message.sender", "it's")
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
    fn numbers_compare_exactly_and_by_their_leading_digits() {
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
        assert!(Decimal::parse("-2").unwrap() < Decimal::parse("-1.5").unwrap());
        assert_eq!(Decimal::parse("007.50"), Decimal::parse("7.5"));
        assert_eq!(Decimal::parse("-0"), Decimal::parse("0"));
    }

    #[test]
    fn times_and_dates_compare_as_instants() {
        let q = Query::parse("a.t > TIME 2024-01-01T00:00:00Z AND a.d = DATE 2024-02-03").unwrap();
        assert!(q.matches(&events(&[
            ("a.t", "2024-01-01T00:00:01Z"),
            ("a.d", "2024-02-03")
        ])));
        assert!(!q.matches(&events(&[
            ("a.t", "2023-12-31T23:59:59Z"),
            ("a.d", "2024-02-03")
        ])));
    }

    #[test]
    fn malformed_queries_are_refused_with_the_position() {
        for bad in [
            "",
            "   ",
            "tm.event",
            "tm.event = ",
            "tm.event = 'Tx",
            "tm.event == 'Tx'",
            "tm.event = 'Tx' OR tx.height = 1",
            "tm.event = 'Tx' AND",
            "tx.height > 'abc'",
            "tx.height CONTAINS 5",
            "tx.height = 1.2.3",
            "a.t > TIME yesterday",
            "a.d = DATE 2024-2-3",
            "= 'x'",
            "AND = 'x'",
            "tm.event = Tx",
        ] {
            assert!(Query::parse(bad).is_err(), "{bad:?} parsed");
        }
        let e = Query::parse("tm.event = 'Tx' OR a.b = 1").unwrap_err();
        assert!(e.to_string().contains("at byte 16"), "{e}");
    }

    #[test]
    fn a_missing_key_fails_every_condition_but_exists_needs_only_the_key() {
        let ev = events(&[("message.action", "")]);
        assert!(Query::parse("message.action EXISTS").unwrap().matches(&ev));
        assert!(!Query::parse("message.module EXISTS").unwrap().matches(&ev));
        assert!(!Query::parse("message.module = ''").unwrap().matches(&ev));
    }
}
