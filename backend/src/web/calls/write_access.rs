//! The write-access layer: with a write token set, a call to a method that
//! changes orders is answered UNAUTHENTICATED unless it carries the token,
//! before the service sees it (the rule itself is [`WriteAccess`]'s).

use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use http::{Request, Response};
use tower::{Layer, Service};

use crate::web::auth::WriteAccess;

/// Admits each call as [`WriteAccess::admit`] says.
#[derive(Debug, Clone)]
pub(crate) struct AdmitWritesLayer {
    access: WriteAccess,
}

impl AdmitWritesLayer {
    pub(crate) fn new(access: WriteAccess) -> Self {
        Self { access }
    }
}

impl<S> Layer<S> for AdmitWritesLayer {
    type Service = AdmitWrites<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdmitWrites { inner, access: self.access.clone() }
    }
}

/// A service that writers reach only with the write token.
#[derive(Debug, Clone)]
pub struct AdmitWrites<S> {
    inner: S,
    access: WriteAccess,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AdmitWrites<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.access.admit(request.uri().path(), request.headers()) {
            Ok(()) => Either::Left(self.inner.call(request)),
            Err(status) => Either::Right(ready(Ok(status.into_http()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tonic::{Code, Status};

    use super::*;
    use crate::web::auth::WriteToken;

    async fn call(access: WriteAccess, path: &str, authorization: Option<&str>) -> (Option<Code>, usize) {
        let served = Arc::new(AtomicUsize::new(0));
        let service = tower::service_fn({
            let served = Arc::clone(&served);
            move |_request: Request<()>| {
                served.fetch_add(1, Ordering::Relaxed);
                async { Ok::<_, Infallible>(Response::new(tonic::body::Body::empty())) }
            }
        });
        let mut request = Request::post(path);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let request = request.body(()).expect("request");
        let layered = AdmitWritesLayer::new(access).layer(service);
        let response = tower::ServiceExt::oneshot(layered, request).await.expect("infallible");
        (Status::from_header_map(response.headers()).map(|status| status.code()), served.load(Ordering::Relaxed))
    }

    #[tokio::test]
    async fn a_write_without_the_token_is_refused_before_the_service_sees_it() {
        let restricted = || WriteAccess::new(Some(WriteToken::new("s3cret").expect("token")));
        let add = "/ecommerce.OrderManagement/addOrder";
        assert_eq!(call(restricted(), add, None).await, (Some(Code::Unauthenticated), 0));
        assert_eq!(call(restricted(), add, Some("Bearer wrong")).await, (Some(Code::Unauthenticated), 0));
        assert_eq!(call(restricted(), add, Some("Bearer s3cret")).await, (None, 1));
        assert_eq!(call(restricted(), "/ecommerce.OrderManagement/getOrder", None).await, (None, 1));
        assert_eq!(call(WriteAccess::default(), add, None).await, (None, 1), "without a token everyone writes");
    }
}
