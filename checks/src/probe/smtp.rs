//! SMTP_CHECK (RFC 5321 section 4.2): a 220 greeting, `HELO helo_name`
//! answered by 250, then `QUIT`.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{net, Deadline};
use crate::outcome::{Failure, Phase};
use crate::spec::{Endpoint, SmtpCheck};

const MAX_REPLY_BYTES: usize = 8192;

/// Reads one (possibly multi-line, `250-…`) reply; returns its code and the
/// text of its last line.
async fn read_reply<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    phase: Phase,
    deadline: Deadline,
) -> Result<(u16, String), Failure> {
    loop {
        // Complete lines in the buffer: a final one is "NNN " or "NNN\r\n".
        while let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&line[..end]).into_owned();
            let code = text.get(..3).and_then(|c| c.parse::<u16>().ok());
            let continued = text.as_bytes().get(3) == Some(&b'-');
            match code {
                Some(code) if !continued => return Ok((code, text)),
                Some(_) => continue,
                None => {
                    return Err(Failure::Smtp {
                        stage: stage_name(phase),
                        reply: text,
                    })
                }
            }
        }
        if buf.len() > MAX_REPLY_BYTES {
            return Err(Failure::Smtp {
                stage: stage_name(phase),
                reply: "reply too long".into(),
            });
        }
        let mut chunk = [0u8; 1024];
        let n = deadline.step(phase, stream.read(&mut chunk)).await?;
        if n == 0 {
            return Err(Failure::Closed(phase));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn stage_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Banner => "banner",
        _ => "HELO",
    }
}

pub(crate) async fn check(
    check: &SmtpCheck,
    endpoint: &Endpoint,
    deadline: Deadline,
) -> Result<(), Failure> {
    let mut stream = deadline
        .step(
            Phase::Connect,
            net::tcp_connect(endpoint, net::TcpUse::Exchange),
        )
        .await?;
    let mut buf = Vec::new();
    let (code, text) = read_reply(&mut stream, &mut buf, Phase::Banner, deadline).await?;
    if code != 220 {
        return Err(Failure::Smtp {
            stage: "banner",
            reply: text,
        });
    }
    let helo = format!("HELO {}\r\n", check.helo_name);
    deadline
        .step(Phase::Request, stream.write_all(helo.as_bytes()))
        .await?;
    let (code, text) = read_reply(&mut stream, &mut buf, Phase::Reply, deadline).await?;
    if code != 250 {
        return Err(Failure::Smtp {
            stage: "HELO",
            reply: text,
        });
    }
    // The verdict is made; a server that does not answer QUIT is still up.
    let _ = deadline
        .step(Phase::Request, stream.write_all(b"QUIT\r\n"))
        .await;
    Ok(())
}
