//! The one piece of HTTP the RPC still reads itself: the request target.
//! CometBFT's URI calls quote their string arguments and compare with `<`
//! and `>` as written (`/abci_query?path="/app/version"`,
//! `/tx_search?query="tx.height>5"`), and Go's server takes such a target
//! as sent; hyper refuses it (`400`), as the `http` crate accepts `"`, `<`
//! and `>` in no query. So a connection's bytes pass through [`Lenient`],
//! which percent-encodes those three in each request target before hyper
//! parses it; the URI call decodes them back.
//!
//! To find each request line it follows the messages' framing just far
//! enough: a head ends at a blank line, and a `Content-Length` body is
//! skipped. Anything it does not follow (a chunked body, an upgrade to a
//! websocket, a length it cannot read) turns it into a plain pipe for the
//! rest of the connection, leaving hyper's own parsing as it is.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much is read from the socket at a time.
const CHUNK: usize = 8192;

/// The longest header line kept to be read (a `Content-Length`,
/// `Transfer-Encoding` or `Upgrade` header is far shorter).
const KEPT_LINE: usize = 256;

/// Where the scan is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// In the method, or the blank lines before a request.
    Method,
    /// In the request target.
    Target,
    /// In the rest of the head; `blank` while the current line is empty.
    Head { blank: bool },
    /// In a body with this many bytes to go.
    Body(u64),
    /// Past anything followed: bytes pass unchanged.
    Pipe,
}

/// A stream whose request targets reach hyper with `"`, `<` and `>`
/// percent-encoded.
pub(crate) struct Lenient<S> {
    inner: S,
    scan: Scan,
    /// The header line being read (its first [`KEPT_LINE`] bytes).
    line: Vec<u8>,
    /// The body length the head announced.
    length: u64,
    /// Whether the head makes the rest of the stream unfollowable.
    unfollowable: bool,
    /// Rewritten bytes not yet handed to the reader.
    ready: Vec<u8>,
    /// Bytes as read, before rewriting.
    raw: Vec<u8>,
}

impl<S> Lenient<S> {
    /// Wraps a connection at its start.
    pub(crate) fn new(inner: S) -> Self {
        Lenient {
            inner,
            scan: Scan::Method,
            line: Vec::new(),
            length: 0,
            unfollowable: false,
            ready: Vec::new(),
            raw: vec![0; CHUNK],
        }
    }

    /// Rewrites `bytes` as read, appending to `ready`.
    fn rewrite(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match self.scan {
                Scan::Pipe => {
                    self.ready.push(b);
                    continue;
                }
                Scan::Body(left) => {
                    self.scan = match left - 1 {
                        0 => Scan::Method,
                        left => Scan::Body(left),
                    };
                }
                Scan::Method if b == b' ' => self.scan = Scan::Target,
                Scan::Method => {}
                Scan::Target => match b {
                    b'"' => {
                        self.ready.extend_from_slice(b"%22");
                        continue;
                    }
                    b'<' => {
                        self.ready.extend_from_slice(b"%3C");
                        continue;
                    }
                    b'>' => {
                        self.ready.extend_from_slice(b"%3E");
                        continue;
                    }
                    b' ' | b'\r' | b'\n' => self.scan = Scan::Head { blank: false },
                    _ => {}
                },
                Scan::Head { blank } => match b {
                    b'\r' => {}
                    b'\n' if blank => {
                        self.ready.push(b);
                        self.end_head();
                        continue;
                    }
                    b'\n' => {
                        self.header_line();
                        self.scan = Scan::Head { blank: true };
                    }
                    _ => {
                        if self.line.len() < KEPT_LINE {
                            self.line.push(b);
                        }
                        self.scan = Scan::Head { blank: false };
                    }
                },
            }
            self.ready.push(b);
        }
    }

    /// Reads the header line just ended, for what frames the body.
    fn header_line(&mut self) {
        let line = String::from_utf8_lossy(&self.line).to_ascii_lowercase();
        self.line.clear();
        let Some((name, value)) = line.split_once(':') else {
            return;
        };
        match name.trim() {
            "content-length" => match value.trim().parse() {
                Ok(n) => self.length = n,
                Err(_) => self.unfollowable = true,
            },
            "transfer-encoding" | "upgrade" => self.unfollowable = true,
            _ => {}
        }
    }

    /// Moves past a head's blank line, to its body or the next request.
    fn end_head(&mut self) {
        self.scan = if self.unfollowable {
            Scan::Pipe
        } else if self.length > 0 {
            Scan::Body(self.length)
        } else {
            Scan::Method
        };
        self.length = 0;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lenient<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.ready.is_empty() {
            let mut raw = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut raw) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            let filled = raw.filled().len();
            if filled == 0 {
                return Poll::Ready(Ok(()));
            }
            let raw = std::mem::take(&mut this.raw);
            this.rewrite(&raw[..filled]);
            this.raw = raw;
        }
        let n = this.ready.len().min(buf.remaining());
        buf.put_slice(&this.ready[..n]);
        this.ready.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Lenient<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    async fn through(input: &[u8]) -> String {
        let mut out = String::new();
        Lenient::new(input)
            .read_to_string(&mut out)
            .await
            .expect("reading from a slice");
        out
    }

    #[tokio::test]
    async fn quotes_and_angle_brackets_are_encoded_only_in_request_targets() {
        let body = r#"{"q":"a>b"}"#;
        let input = format!(
            "GET /tx_search?query=\"tx.height>0\" HTTP/1.1\r\nX-A: \"<>\"\r\n\r\n\
             POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}\
             GET /a?b=<c> HTTP/1.1\r\n\r\n",
            body.len()
        );
        assert_eq!(
            through(input.as_bytes()).await,
            format!(
                "GET /tx_search?query=%22tx.height%3E0%22 HTTP/1.1\r\nX-A: \"<>\"\r\n\r\n\
                 POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}\
                 GET /a?b=%3Cc%3E HTTP/1.1\r\n\r\n",
                body.len()
            )
        );
    }

    #[tokio::test]
    async fn a_chunked_body_or_an_upgrade_leaves_the_rest_as_sent() {
        for head in ["Transfer-Encoding: chunked", "Upgrade: websocket"] {
            let input = format!("POST / HTTP/1.1\r\n{head}\r\n\r\nGET /\"\" HTTP/1.1\r\n\r\n");
            assert_eq!(through(input.as_bytes()).await, input);
        }
    }
}
