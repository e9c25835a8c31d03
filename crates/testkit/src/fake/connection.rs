//! Connections that a handler can order closed without a response (for `Fault::Disconnect`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub(super) struct KillableListener {
    pub(super) inner: TcpListener,
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        let stream = KillableStream {
            inner: stream,
            killed: Arc::new(AtomicBool::new(false)),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails every operation once `killed` is set, so hyper drops the
/// connection without writing the response.
pub(super) struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by an injected fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The kill switch of the connection a request came on, handed to the handler.
#[derive(Clone, Debug)]
pub(super) struct ConnKill(pub(super) Arc<AtomicBool>);

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        ConnKill(Arc::clone(&stream.io().killed))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::fake::test_support::{KEY, fake};
    use crate::fake::types::Fault;

    #[tokio::test]
    async fn disconnect_fault_drops_the_connection_without_a_response() {
        let fake = fake().await;
        fake.push_fault(Fault::Disconnect);
        let client = reqwest::Client::new();
        let result = client
            .post(format!("{}/v3/users", fake.url()))
            .bearer_auth(KEY)
            .json(&json!([{"id": "a", "name": "A"}]))
            .send()
            .await;
        let err = result.unwrap_err();
        assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
        assert!(fake.users().is_empty(), "nothing applied");
        assert_eq!(fake.requests().len(), 1);
        assert_eq!(fake.requests()[0].status, 0);

        // The same client recovers on a fresh connection.
        let reply = client
            .get(format!("{}/v3/users", fake.url()))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
    }
}
