//! A raw HTTP/1.1 client: it sends exactly the bytes asked for and returns the
//! status line as received, which ordinary clients hide (the reason phrase is the
//! point of `401 Unauthorized - MFA required`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as it came over the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The status line without CRLF, e.g. `HTTP/1.1 401 Unauthorized - MFA required`.
    pub status_line: String,
    /// The status code.
    pub status: u16,
    /// Header lines in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Every value of a header.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The only value of a header (`None` when absent; panics when repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "header {name} sent {} times: {all:?}", all.len());
        all.first().copied()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `code` of a problem+json body.
    pub fn code(&self) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(&self.body).ok()?.get("code")?.as_str().map(str::to_owned)
    }
}

/// Sends `GET`-style request bytes: a request line, these header lines (raw bytes,
/// sent as given), `Host` and `Connection: close`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[Vec<u8>],
) -> std::io::Result<RawResponse> {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    for h in headers {
        req.extend_from_slice(h);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    send_raw(addr, &req).await
}

/// Sends exactly `bytes` and reads the response until the server closes.
pub async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<RawResponse> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(bytes).await?;
    let mut raw = Vec::new();
    match tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await {
        Ok(r) => {
            r?;
        }
        Err(_) => return Err(std::io::Error::other("no complete response within 10 s")),
    }
    parse(&raw)
}

/// One kept-alive connection for many requests (the path differential sends
/// thousands): reconnects whenever the server closed it, as servers do after
/// refusing a request they could not parse.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Connection {
    /// A connection to `addr`, opened on first use.
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, stream: None, buf: Vec::new() }
    }

    /// Sends a request with these header lines (and `Host`) and reads its response.
    /// A connection the server had closed is reopened once.
    pub async fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[Vec<u8>],
    ) -> std::io::Result<RawResponse> {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.addr).into_bytes();
        for h in headers {
            req.extend_from_slice(h);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"\r\n");
        let reused = self.stream.is_some();
        match self.round_trip(&req, method == "HEAD").await {
            Err(_) if reused => {
                self.stream = None;
                self.round_trip(&req, method == "HEAD").await
            }
            other => other,
        }
    }

    async fn round_trip(&mut self, req: &[u8], head: bool) -> std::io::Result<RawResponse> {
        if self.stream.is_none() {
            self.stream = Some(TcpStream::connect(self.addr).await?);
            self.buf.clear();
        }
        let result = tokio::time::timeout(Duration::from_secs(10), self.exchange(req, head)).await;
        let result =
            result.unwrap_or_else(|_| Err(std::io::Error::other("no complete response within 10 s")));
        match &result {
            Ok((_, keep)) if *keep => {}
            _ => self.stream = None,
        }
        result.map(|(res, _)| res)
    }

    /// Writes `req`, reads one response; also says whether the connection stays open.
    async fn exchange(&mut self, req: &[u8], head: bool) -> std::io::Result<(RawResponse, bool)> {
        let stream = self.stream.as_mut().ok_or_else(|| std::io::Error::other("not connected"))?;
        stream.write_all(req).await?;
        let end = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if read_more(stream, &mut self.buf).await? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed before a response",
                ));
            }
        };
        let (head_only, _) = parse_head(&self.buf[..end])?;
        let close = head_only.all("connection").iter().any(|v| v.eq_ignore_ascii_case("close"));
        let length = head_only.header("content-length").and_then(|v| v.parse::<usize>().ok());
        let chunked = head_only.all("transfer-encoding").iter().any(|v| v.eq_ignore_ascii_case("chunked"));
        let no_body = head || head_only.status == 204 || head_only.status == 304;
        let total = if no_body {
            end
        } else if let Some(n) = length {
            while self.buf.len() < end + n {
                if read_more(stream, &mut self.buf).await? == 0 {
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "body cut short"));
                }
            }
            end + n
        } else if chunked {
            loop {
                if let Some(n) = chunked_len(&self.buf[end..]) {
                    break end + n;
                }
                if read_more(stream, &mut self.buf).await? == 0 {
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "chunks cut short"));
                }
            }
        } else {
            // No length: the body runs to the close.
            while read_more(stream, &mut self.buf).await? > 0 {}
            let res = parse(&self.buf)?;
            self.buf.clear();
            return Ok((res, false));
        };
        let res = parse(&self.buf[..total])?;
        self.buf.drain(..total);
        Ok((res, !close))
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The length of a complete chunked body at the start of `rest`, if it is all there.
fn chunked_len(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + rest[at..].windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[at..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // No trailers are sent by the servers under test: the last CRLF ends it.
            return (rest.len() >= at + 2).then_some(at + 2);
        }
        at += size + 2;
        if rest.len() < at {
            return None;
        }
    }
}

fn parse(raw: &[u8]) -> std::io::Result<RawResponse> {
    let (mut res, end) = parse_head(raw)?;
    let rest = &raw[end..];
    let chunked =
        res.headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    res.body = if chunked { dechunk(rest).ok_or_else(|| bad("bad chunked body"))? } else { rest.to_vec() };
    Ok(res)
}

/// The status line and headers (body empty), and where the body starts.
fn parse_head(raw: &[u8]) -> std::io::Result<(RawResponse, usize)> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?.to_owned();
    let status =
        status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (n, v) = line.split_once(':').ok_or_else(|| bad("bad header line"))?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    Ok((RawResponse { status_line, status, headers, body: Vec::new() }, end + 4))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}
