//! The gRPC server: every `/package.Service/Method` path goes to
//! [`Api::call`] with the request's protobuf bytes, so one dispatcher serves
//! the Cosmos SDK's services and ours without a generated stub per method.
//! Server reflection (v1 and v1alpha, which `grpcurl` uses) describes them
//! from `deai-proto`'s descriptor set (ibc-go's core queries included).

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::{Buf, BufMut, Bytes};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::MetadataValue,
    server::Grpc,
    service::Routes,
    Status,
};

use crate::{Api, ApiError, HEIGHT_HEADER, MAX_REQUEST_BYTES};

/// Serves gRPC on `listener` until `shutdown` resolves.
pub async fn serve(
    api: Arc<Api>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ApiError> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(deai_proto::file_descriptor_set())
        .build_v1()
        .map_err(|e| ApiError::Config(format!("gRPC reflection: {e}")))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(deai_proto::file_descriptor_set())
        .build_v1alpha()
        .map_err(|e| ApiError::Config(format!("gRPC reflection: {e}")))?;
    let router = Routes::new(reflection_v1)
        .add_service(reflection_v1alpha)
        .into_axum_router()
        .fallback_service(Dispatcher { api });
    tonic::transport::Server::builder()
        .timeout(crate::REQUEST_TIMEOUT)
        .concurrency_limit_per_connection(32)
        .max_concurrent_streams(64)
        .http2_max_header_list_size(16 * 1024)
        .add_routes(Routes::from(router))
        .serve_with_incoming_shutdown(
            crate::conn::LimitedListener::new(listener, crate::conn::MAX_CONNECTIONS).into_stream(),
            shutdown,
        )
        .await
        .map_err(|e| ApiError::Internal(format!("gRPC server: {e}")))
}

/// Binds the gRPC address, so a taken port is an error before anything
/// starts.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ApiError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Config(format!("cannot listen for gRPC on {addr}: {e}")))
}

/// Routes every unary call to [`Api::call`].
#[derive(Clone)]
struct Dispatcher {
    api: Arc<Api>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<B> tower::Service<http::Request<B>> for Dispatcher
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = Method {
            api: self.api.clone(),
            path: req.uri().path().to_string(),
        };
        Box::pin(async move {
            let mut grpc = Grpc::new(RawCodec)
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(usize::MAX);
            Ok(grpc.unary(method, req).await)
        })
    }
}

/// One call to one method path.
struct Method {
    api: Arc<Api>,
    path: String,
}

impl tower::Service<tonic::Request<Bytes>> for Method {
    type Response = tonic::Response<Bytes>;
    type Error = Status;
    type Future = BoxFuture<Result<tonic::Response<Bytes>, Status>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<Bytes>) -> Self::Future {
        let api = self.api.clone();
        let path = std::mem::take(&mut self.path);
        Box::pin(async move {
            let height = requested_height(req.metadata())?;
            let answer = api.call(&path, req.into_inner(), height).await?;
            let mut response = tonic::Response::new(answer.bytes);
            if answer.height > 0 {
                response
                    .metadata_mut()
                    .insert(HEIGHT_HEADER, MetadataValue::from(answer.height));
            }
            Ok(response)
        })
    }
}

/// The height a request asks for in its `x-cosmos-block-height` metadata.
fn requested_height(meta: &tonic::metadata::MetadataMap) -> Result<Option<u64>, ApiError> {
    let Some(v) = meta.get(HEIGHT_HEADER) else {
        return Ok(None);
    };
    crate::parse_height(v.to_str().unwrap_or(""))
}

/// Passes message bytes through unchanged: the dispatcher decodes them
/// itself, by method (and a client can call any method with it).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}
