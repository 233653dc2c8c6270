//! The subset of X's search query language the double understands, and how it matches posts.
//!
//! Grammar, as X documents it: terms separated by spaces must all match (AND); ` OR ` (upper
//! case) between terms means either; AND binds tighter than OR, so `a OR b c` is `a OR (b c)`;
//! parentheses group; a leading `-` negates a term or group.
//!
//! Terms:
//! - `word`: keyword, a tokenized, case-insensitive match (see below).
//! - `"exact phrase"`: the phrase's tokens, consecutive and in order.
//! - `#hashtag`, `@mention`, `$cashtag`: an entity of that kind in the text, case-insensitive
//!   and whole (`#tao` does not match `#taonado`).
//! - `from:user` (username, case-insensitive, or numeric user id).
//! - `lang:xx`: the post's language tag.
//! - `is:retweet`; `is:reply`, `is:quote`, `is:verified` and `is:nullcast` never match (the
//!   dataset has no such posts).
//! - `has:hashtags`, `has:mentions`, `has:cashtags`, `has:links`; `has:media`, `has:images`,
//!   `has:videos` and `has:geo` never match (the dataset has no media or places).
//!
//! Any other `name:value` operator is refused with a 400, as X refuses unknown ones, so a
//! client that relies on one finds out here rather than against the real API.
//!
//! Keyword matching approximates X's tokenizer: text and keyword are put in Unicode NFC and
//! lowercased, then split into runs of alphanumeric characters; everything else (spaces,
//! punctuation, `_`, `#`, `$`, emoji, zero-width spaces) separates tokens. A keyword matches
//! when its tokens appear consecutively in the post's tokens, so `sn45` matches "SN45!" and
//! "#SN45" but not "SN450", and `talisman_ai` matches "talisman ai". A keyword with no
//! alphanumeric character (an emoji) matches as a case-insensitive substring. Not modelled:
//! X's accent folding, its segmentation of scripts written without spaces (Japanese,
//! Chinese), stemming of any kind, and URL expansion.
//!
//! X also refuses a query made only of negations and stand-alone-forbidden operators
//! (`-is:retweet lang:en` alone); the double does the same.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    root: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Tokens to find consecutively (a keyword or a quoted phrase).
    Tokens(Vec<String>),
    /// A keyword without alphanumeric characters, found as a substring.
    Substring(String),
    Hashtag(String),
    Mention(String),
    Cashtag(String),
    From(String),
    Lang(String),
    IsRetweet,
    Has(HasKind),
    /// An `is:` or `has:` value X knows that no dataset post can satisfy.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HasKind {
    Hashtags,
    Mentions,
    Cashtags,
    Links,
}

/// Why a query string is not a query; the message follows X's
/// "There were errors processing your rule" wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("There were errors processing your rule: {0}")]
pub struct QueryError(String);

/// The parts of a post a query looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Post text as X returns it.
    pub text: &'a str,
    /// Language tag.
    pub lang: &'a str,
    /// Author's username.
    pub username: &'a str,
    /// Author's numeric id.
    pub user_id: u64,
    /// Whether the post is a retweet.
    pub is_retweet: bool,
}

impl Query {
    /// Parses a query string.
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        let tokens = lex(input)?;
        let mut parser = Parser { tokens, pos: 0 };
        let root = parser.or_expr()?;
        if let Some(token) = parser.tokens.get(parser.pos) {
            return Err(QueryError(format!("unexpected {}", token.describe())));
        }
        if !root.has_positive_standalone() {
            return Err(QueryError(
                "a query needs at least one positive keyword, \"phrase\", #hashtag, @mention, \
                 $cashtag or from: term; is:, has: and lang: must be combined with one"
                    .into(),
            ));
        }
        Ok(Self { root })
    }

    /// Whether a post matches.
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        self.root.eval(&Analysed::new(subject))
    }
}

// ---- lexing --------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    LParen,
    RParen,
    Or,
    Not,
    Phrase(String),
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::Or => "OR".into(),
            Token::Not => "'-'".into(),
            Token::Phrase(p) => format!("\"{p}\""),
            Token::Word(w) => format!("'{w}'"),
        }
    }
}

fn lex(input: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::LParen);
            }
            ')' => {
                chars.next();
                tokens.push(Token::RParen);
            }
            '"' => {
                chars.next();
                let mut phrase = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => phrase.push(c),
                        None => return Err(QueryError("unterminated quoted phrase".into())),
                    }
                }
                tokens.push(Token::Phrase(phrase));
            }
            '-' => {
                chars.next();
                match chars.peek() {
                    Some(&next) if !next.is_whitespace() && next != ')' => tokens.push(Token::Not),
                    _ => return Err(QueryError("'-' must be followed by a term".into())),
                }
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(if word == "OR" {
                    Token::Or
                } else {
                    Token::Word(word)
                });
            }
        }
    }
    Ok(tokens)
}

// ---- parsing -------------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut branches = vec![self.and_expr()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            branches.push(self.and_expr()?);
        }
        Ok(if branches.len() == 1 {
            branches.remove(0)
        } else {
            Expr::Or(branches)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut items = Vec::new();
        while let Some(token) = self.peek() {
            if matches!(token, Token::Or | Token::RParen) {
                break;
            }
            items.push(self.unary()?);
        }
        match items.len() {
            0 => Err(QueryError(match self.peek() {
                Some(token) => format!("expected a term before {}", token.describe()),
                None => "expected a term at the end of the query".into(),
            })),
            1 => Ok(items.remove(0)),
            _ => Ok(Expr::And(items)),
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.primary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| QueryError("expected a term at the end of the query".into()))?;
        self.pos += 1;
        match token {
            Token::LParen => {
                let inner = self.or_expr()?;
                if self.peek() != Some(&Token::RParen) {
                    return Err(QueryError("missing ')'".into()));
                }
                self.pos += 1;
                Ok(inner)
            }
            Token::Phrase(phrase) => Ok(Expr::Term(keyword(&phrase))),
            Token::Word(word) => Ok(Expr::Term(term(&word)?)),
            other => Err(QueryError(format!("unexpected {}", other.describe()))),
        }
    }
}

fn keyword(word: &str) -> Term {
    let tokens = tokenize(word);
    if tokens.is_empty() {
        Term::Substring(fold(word))
    } else {
        Term::Tokens(tokens)
    }
}

fn term(word: &str) -> Result<Term, QueryError> {
    let entity = |rest: &str| (!rest.is_empty()).then(|| rest.to_lowercase());
    if let Some(tag) = word.strip_prefix('#').and_then(entity) {
        return Ok(Term::Hashtag(tag));
    }
    if let Some(user) = word.strip_prefix('@').and_then(entity) {
        return Ok(Term::Mention(user));
    }
    if let Some(symbol) = word.strip_prefix('$').and_then(entity) {
        return Ok(Term::Cashtag(symbol));
    }
    if let Some((name, value)) = word.split_once(':') {
        let looks_like_operator = !name.is_empty()
            && !value.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_');
        if looks_like_operator {
            return operator(name, value);
        }
    }
    Ok(keyword(word))
}

fn operator(name: &str, value: &str) -> Result<Term, QueryError> {
    let unknown_value = || {
        QueryError(format!(
            "Reference to invalid field '{value}' for operator '{name}:'"
        ))
    };
    match name {
        "from" => Ok(Term::From(
            value.strip_prefix('@').unwrap_or(value).to_lowercase(),
        )),
        "lang" => Ok(Term::Lang(value.to_lowercase())),
        "is" => match value {
            "retweet" => Ok(Term::IsRetweet),
            "reply" | "quote" | "verified" | "nullcast" => Ok(Term::Never),
            _ => Err(unknown_value()),
        },
        "has" => match value {
            "hashtags" => Ok(Term::Has(HasKind::Hashtags)),
            "mentions" => Ok(Term::Has(HasKind::Mentions)),
            "cashtags" => Ok(Term::Has(HasKind::Cashtags)),
            "links" => Ok(Term::Has(HasKind::Links)),
            "media" | "images" | "videos" | "geo" => Ok(Term::Never),
            _ => Err(unknown_value()),
        },
        _ => Err(QueryError(format!(
            "Reference to invalid operator '{name}'. This X API double supports from:, lang:, \
             is: and has: (and keywords, \"phrases\", #hashtags, @mentions, $cashtags)"
        ))),
    }
}

impl Expr {
    /// Whether the expression contains a non-negated term that X lets stand alone.
    fn has_positive_standalone(&self) -> bool {
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter().any(Expr::has_positive_standalone),
            Expr::Not(_) => false,
            Expr::Term(term) => matches!(
                term,
                Term::Tokens(_)
                    | Term::Substring(_)
                    | Term::Hashtag(_)
                    | Term::Mention(_)
                    | Term::Cashtag(_)
                    | Term::From(_)
            ),
        }
    }

    fn eval(&self, post: &Analysed<'_>) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.eval(post)),
            Expr::Or(items) => items.iter().any(|e| e.eval(post)),
            Expr::Not(inner) => !inner.eval(post),
            Expr::Term(term) => term.eval(post),
        }
    }
}

impl Term {
    fn eval(&self, post: &Analysed<'_>) -> bool {
        match self {
            Term::Tokens(needle) => contains_run(&post.tokens, needle),
            Term::Substring(needle) => post.folded.contains(needle.as_str()),
            Term::Hashtag(tag) => post.hashtags.contains(tag),
            Term::Mention(user) => post.mentions.contains(user),
            Term::Cashtag(symbol) => post.cashtags.contains(symbol),
            Term::From(user) => {
                post.subject.username.eq_ignore_ascii_case(user)
                    || post.subject.user_id.to_string() == *user
            }
            Term::Lang(lang) => post.subject.lang.eq_ignore_ascii_case(lang),
            Term::IsRetweet => post.subject.is_retweet,
            Term::Has(HasKind::Hashtags) => !post.hashtags.is_empty(),
            Term::Has(HasKind::Mentions) => !post.mentions.is_empty(),
            Term::Has(HasKind::Cashtags) => !post.cashtags.is_empty(),
            Term::Has(HasKind::Links) => {
                post.folded.contains("http://") || post.folded.contains("https://")
            }
            Term::Never => false,
        }
    }
}

// ---- text analysis -------------------------------------------------------------------------

/// A post's text prepared once for every term of a query.
struct Analysed<'a> {
    subject: &'a Subject<'a>,
    folded: String,
    tokens: Vec<String>,
    hashtags: HashSet<String>,
    mentions: HashSet<String>,
    cashtags: HashSet<String>,
}

impl<'a> Analysed<'a> {
    fn new(subject: &'a Subject<'a>) -> Self {
        let folded = fold(subject.text);
        Self {
            tokens: tokenize(&folded),
            hashtags: entities(
                &folded,
                '#',
                |c| c.is_alphanumeric() || c == '_',
                usize::MAX,
            )
            .filter(|tag| !tag.chars().all(|c| c.is_ascii_digit()))
            .collect(),
            mentions: entities(&folded, '@', |c| c.is_ascii_alphanumeric() || c == '_', 15)
                .collect(),
            cashtags: entities(&folded, '$', |c| c.is_ascii_alphabetic(), 6).collect(),
            folded,
            subject,
        }
    }
}

/// NFC, then lowercase: the form in which text and keywords are compared.
fn fold(text: &str) -> String {
    text.nfc().collect::<String>().to_lowercase()
}

/// Runs of alphanumeric characters of the folded text.
fn tokenize(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Entities introduced by `sigil`: the sigil must not follow a word character, and the body
/// (1 to `max_len` characters accepted by `body`) must not run on into another word character.
fn entities<'t>(
    text: &'t str,
    sigil: char,
    body: impl Fn(char) -> bool + 't,
    max_len: usize,
) -> impl Iterator<Item = String> + 't {
    let chars: Vec<char> = text.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if c != sigil || (i > 0 && (is_word(chars[i - 1]) || chars[i - 1] == '&')) {
            continue;
        }
        let run: String = chars[i + 1..].iter().take_while(|&&c| body(c)).collect();
        let len = run.chars().count();
        let runs_on = chars.get(i + 1 + len).is_some_and(|&c| is_word(c));
        if len > 0 && len <= max_len && !runs_on {
            found.push(run);
        }
    }
    found.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str) -> Subject<'_> {
        Subject {
            text,
            lang: "en",
            username: "Mira_Builds",
            user_id: 42,
            is_retweet: false,
        }
    }

    fn hits(query: &str, text: &str) -> bool {
        Query::parse(query).unwrap().matches(&post(text))
    }

    #[test]
    fn keywords_match_whole_tokens_case_insensitively() {
        assert!(hits("sn45", "Big day for SN45!"));
        assert!(hits("sn45", "#SN45 trending"));
        assert!(hits("SN45", "sn45"));
        assert!(!hits("sn45", "SN450 is not a subnet"));
        assert!(!hits("sn45", "isn45"));
        assert!(!hits("tao", "taonado"));
    }

    #[test]
    fn punctuated_keywords_match_their_tokens_in_order() {
        assert!(hits("talisman_ai", "talisman_ai ships"));
        assert!(hits("talisman_ai", "Talisman AI ships"));
        assert!(!hits("talisman_ai", "ai talisman"));
        assert!(hits("lium.io", "check lium.io today"));
    }

    #[test]
    fn separators_and_invisible_characters_split_tokens() {
        assert!(hits("moon", "tao\u{1c}moon"));
        assert!(hits("subnet", "subnet\u{a0}19"));
        assert!(!hits("sn64", "SN\u{200b}64"));
        assert!(hits("chutes", "chutes\rcompute"));
    }

    #[test]
    fn decomposed_accents_match_composed_keywords() {
        assert!(hits("café", "Cafe\u{301} chat"));
    }

    #[test]
    fn all_terms_must_match_and_or_needs_one_side() {
        assert!(hits("chutes volume", "volume on chutes"));
        assert!(!hits("chutes volume", "chutes only"));
        assert!(hits("chutes OR targon", "targon only"));
        assert!(!hits("chutes OR targon", "neither"));
        // lower-case "or" is an ordinary keyword
        assert!(!hits("chutes or targon", "targon only"));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_regroup() {
        assert!(hits("apex OR chutes volume", "apex alone"));
        assert!(!hits("(apex OR chutes) volume", "apex alone"));
        assert!(hits("(apex OR chutes) volume", "chutes volume"));
    }

    #[test]
    fn negation_excludes_terms_phrases_and_groups() {
        assert!(!hits("chutes -rug", "chutes rug pull"));
        assert!(hits("chutes -rug", "chutes steady"));
        assert!(!hits(r#"chutes -"rug pull""#, "chutes rug pull"));
        assert!(hits(r#"chutes -"rug pull""#, "chutes pull rug"));
        assert!(!hits("chutes -(rug OR exploit)", "chutes exploit"));
    }

    #[test]
    fn phrases_need_consecutive_tokens() {
        assert!(hits(r#""score vision""#, "Score Vision is live"));
        assert!(!hits(r#""score vision""#, "vision score"));
    }

    #[test]
    fn entities_match_whole_and_only_as_entities() {
        assert!(hits("#bittensor", "love #Bittensor."));
        assert!(!hits("#bittensor", "love bittensor"));
        assert!(!hits("#tao", "#taonado"));
        assert!(hits("$tao", "$TAO. up"));
        assert!(!hits("$tao", "price$TAO"));
        assert!(hits("@validatorvic", "thanks @ValidatorVic!"));
        assert!(!hits("@validatorvic", "mail me at a@validatorvic"));
        assert!(hits("@mira_builds", "RT @mira_builds: hello"));
    }

    #[test]
    fn operators_look_at_post_attributes() {
        let retweet = Subject {
            is_retweet: true,
            ..post("RT @x: chutes")
        };
        let q = Query::parse("chutes -is:retweet lang:en").unwrap();
        assert!(q.matches(&post("chutes")));
        assert!(!q.matches(&retweet));
        assert!(!q.matches(&Subject {
            lang: "es",
            ..post("chutes")
        }));
        assert!(hits("from:mira_builds", "anything"));
        assert!(hits("from:42", "anything"));
        assert!(!hits("from:someone_else", "anything"));
        assert!(hits("chutes has:links", "chutes https://example.com"));
        assert!(!hits("chutes is:reply", "chutes"));
    }

    #[test]
    fn emoji_keywords_match_as_substrings() {
        assert!(hits("🚀", "SN45 🚀🚀"));
        assert!(!hits("🚀", "SN45"));
    }

    #[test]
    fn malformed_queries_are_refused() {
        for bad in [
            "",
            "   ",
            "(chutes",
            "chutes)",
            "()",
            "OR chutes",
            "chutes OR",
            "chutes -",
            "\"open phrase",
            "chutes is:bogus",
            "chutes has:bogus",
            "chutes url:example.com",
            "-is:retweet lang:en",
            "-chutes",
        ] {
            assert!(Query::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_reference_miners_query_shape_parses() {
        let q = Query::parse("(SN45 OR talisman_ai OR \"subnet 45\") -is:retweet lang:en").unwrap();
        assert!(q.matches(&post("subnet 45 looks good")));
        assert!(Query::parse("SN45 OR chutes OR sportstensor -is:retweet lang:en").is_ok());
    }

    #[test]
    fn errors_use_xs_wording() {
        let err = Query::parse("chutes foo:bar").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "There were errors processing your rule: Reference to invalid operator 'foo'"
            ),
            "{err}"
        );
    }
}
