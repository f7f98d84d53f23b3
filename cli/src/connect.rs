//! The connection to the server: plain or TLS by the URL's scheme, with the
//! write token, if one is given, on every call.

use anyhow::{Context, anyhow};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::args::Cli;
use ordermgt_proto::order_management_client::OrderManagementClient;

pub(crate) type Client = OrderManagementClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer <token>` to each call when there is a token.
#[derive(Debug, Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub(crate) async fn client(cli: &Cli) -> anyhow::Result<Client> {
    let mut endpoint =
        Channel::from_shared(cli.server.clone()).with_context(|| format!("{:?} is not a server URL", cli.server))?;
    if cli.server.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_webpki_roots();
        if let Some(file) = &cli.ca_cert {
            let pem =
                std::fs::read(file).with_context(|| format!("cannot read the CA certificate {}", file.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).context("cannot set up TLS")?;
    }
    let channel = endpoint.connect().await.with_context(|| format!("cannot reach {}", cli.server))?;
    Ok(OrderManagementClient::with_interceptor(channel, Bearer(bearer(cli)?)))
}

fn bearer(cli: &Cli) -> anyhow::Result<Option<MetadataValue<Ascii>>> {
    let Some(file) = &cli.token_file else { return Ok(None) };
    let token =
        std::fs::read_to_string(file).with_context(|| format!("cannot read the token file {}", file.display()))?;
    let value = format!("Bearer {}", token.trim())
        .parse()
        .map_err(|_| anyhow!("the token in {} cannot be sent in a header (use printable ASCII)", file.display()))?;
    Ok(Some(value))
}
