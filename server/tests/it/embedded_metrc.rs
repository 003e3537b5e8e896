//! With no `METRC_BASE_URL` the server embeds the Metrc sandbox; with one it needs a vendor key.

use secrecy::ExposeSecret;
use server::cli::MetrcArgs;
use server::error::StartError;

#[tokio::test]
async fn without_a_metrc_url_the_demo_sandbox_answers_like_metrc() {
    let target = MetrcArgs {
        metrc_base_url: None,
        metrc_vendor_key: None,
        sandbox_addr: "127.0.0.1:0".parse().unwrap(),
    }
    .start()
    .await
    .expect("sandbox starts");
    let sandbox = target.sandbox.as_ref().expect("embedded sandbox");
    let owner = sandbox.demo_owner().expect("demo owner");

    let client = reqwest::Client::new();
    let facilities = client
        .get(target.base_url.join("facilities/v2/").unwrap())
        .basic_auth(target.vendor_key.expose_secret(), Some(&owner.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(facilities.status(), 200);
    let body: serde_json::Value = facilities.json().await.unwrap();
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(6),
        "one demo license of each type"
    );

    // Another vendor key is refused, like Metrc refuses unregistered integrators.
    let stranger = client
        .get(target.base_url.join("facilities/v2/").unwrap())
        .basic_auth("some-other-vendor", Some(&owner.api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
}

#[tokio::test]
async fn real_metrc_needs_a_vendor_key() {
    let err = MetrcArgs {
        metrc_base_url: Some("https://api-ca.metrc.com".parse().unwrap()),
        metrc_vendor_key: None,
        sandbox_addr: "127.0.0.1:0".parse().unwrap(),
    }
    .start()
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, StartError::MissingVendorKey));
    assert!(err.to_string().contains("METRC_VENDOR_KEY"));
}
