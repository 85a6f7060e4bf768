//! The JSON codec of the app's server functions and of the error they answer with: server_fn's
//! JSON, read in the browser as text.
//!
//! Why not server_fn's own `Json`: it decodes a response from bytes (`serde_json::from_slice`),
//! while a page hydrating a resource decodes the same types from the text the server embedded in
//! the page (`serde_json::from_str`, Leptos's resource codec), and the stream decoders read an
//! event's `data` as text too. Each reader is its own instantiation of every `Deserialize` impl,
//! so the browser build carried two decoders of each snapshot, job and error type side by side
//! (BENCHMARKS.md, "Bundle size": 58 KB of code read from bytes beside 63 KB read from text).
//! Reading responses as text leaves one.
//!
//! The bytes on the wire are exactly those of server_fn's `Json` (`application/json`, written by
//! `serde_json::to_vec`); a body that is not UTF-8 fails to decode with a message saying so.

use bytes::Bytes;
use leptos::server_fn::{codec::Post, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON written as server_fn writes it, read back from text.
pub struct JsonTextEncoding;

/// The output encoding for `#[server(output = JsonText)]`: JSON in the response body.
pub type JsonText = Post<JsonTextEncoding>;

impl ContentType for JsonTextEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonTextEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes)
            .map_err(|err| <serde_json::Error as serde::de::Error>::custom(format!("the body is not UTF-8: {err}")))?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::server_fn::codec::JsonEncoding;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Snapshot {
        name: String,
        values: Vec<f64>,
    }

    #[test]
    fn writes_what_server_fn_json_writes_and_reads_it_back() {
        let value = Snapshot { name: "héllo \"x\"".into(), values: vec![1.5, -2.0] };
        let ours = <JsonTextEncoding as Encodes<Snapshot>>::encode(&value).unwrap();
        let theirs = <JsonEncoding as Encodes<Snapshot>>::encode(&value).unwrap();
        assert_eq!(ours, theirs);
        let back: Snapshot = JsonTextEncoding::decode(ours).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn a_body_that_is_not_utf8_or_not_json_is_an_error_naming_why() {
        let err =
            <JsonTextEncoding as Decodes<Snapshot>>::decode(Bytes::from_static(b"{\"name\":\"\xff\"}")).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        let err = <JsonTextEncoding as Decodes<Snapshot>>::decode(Bytes::from_static(b"{\"name\":1}")).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}
