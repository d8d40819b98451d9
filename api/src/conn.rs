//! A bound on the connections each API server holds open. `deaid start`
//! serves the APIs in the same process as ABCI and RocksDB: without a bound,
//! a client opening connections by the thousand could use up the process's
//! file descriptors and stop the node itself. A server waits for a free slot
//! before it accepts, so clients beyond the bound wait in the kernel's
//! backlog and cost the node nothing.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};

/// Most connections one API server holds open at once.
pub const MAX_CONNECTIONS: usize = 256;

/// How long to rest after a failed accept (say, out of file descriptors)
/// before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listener that accepts only while fewer than its bound of connections
/// are open.
pub struct LimitedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
}

impl LimitedListener {
    /// At most `max` connections from `listener` open at once.
    pub fn new(listener: TcpListener, max: usize) -> Self {
        LimitedListener {
            listener,
            slots: Arc::new(Semaphore::new(max)),
        }
    }

    /// The next connection, once a slot is free; it holds the slot until
    /// it is dropped. Failed accepts are logged and retried.
    pub async fn next(&mut self) -> (Slotted, SocketAddr) {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    return (
                        Slotted {
                            stream,
                            _slot: slot,
                        },
                        peer,
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting an API connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }

    /// The connections as a stream, as tonic's server takes them.
    pub fn into_stream(self) -> impl futures::Stream<Item = io::Result<Slotted>> {
        futures::stream::unfold(self, |mut l| async move {
            let (io, _) = l.next().await;
            Some((Ok(io), l))
        })
    }
}

/// An accepted connection, holding its server's slot until it closes.
pub struct Slotted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl tonic::transport::server::Connected for Slotted {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Slotted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Slotted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_beyond_the_bound_waits_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut limited = LimitedListener::new(listener, 1);
        let _a = TcpStream::connect(addr).await.expect("first client");
        let _b = TcpStream::connect(addr).await.expect("second client");
        let (first, _) = limited.next().await;
        let waiting = tokio::time::timeout(Duration::from_millis(200), limited.next()).await;
        assert!(
            waiting.is_err(),
            "a second connection was taken past the bound"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), limited.next()).await;
        assert!(second.is_ok(), "the freed slot lets the next connection in");
    }
}
