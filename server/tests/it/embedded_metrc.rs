//! With neither `METRC_BASE_URL` nor `METRC_STATES` the server embeds the Metrc sandbox, one per
//! state (California and Colorado by default), each its own Metrc with its own address, vendor
//! key, licenses and keys; with `METRC_BASE_URL` it needs a vendor key.

use secrecy::ExposeSecret;
use server::cli::MetrcArgs;
use server::error::StartError;

fn args(base: Option<&str>, sandbox_states: &[&str]) -> MetrcArgs {
    MetrcArgs {
        metrc_base_url: base.map(|b| b.parse().unwrap()),
        metrc_vendor_key: None,
        metrc_states: Vec::new(),
        sandbox_states: sandbox_states.iter().map(|s| (*s).to_owned()).collect(),
        sandbox_addr: "127.0.0.1:0".parse().unwrap(),
    }
}

#[tokio::test]
async fn without_a_metrc_url_each_states_demo_sandbox_answers_like_its_metrc() {
    let target = args(None, &["CA", "CO"])
        .start()
        .await
        .expect("sandboxes start");
    let codes: Vec<&str> = target.states.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["CA", "CO"]);
    assert_eq!(target.sandboxes.len(), 2);
    assert_ne!(target.states[0].base_url, target.states[1].base_url);
    assert_ne!(
        target.states[0].vendor_key.expose_secret(),
        target.states[1].vendor_key.expose_secret(),
        "a vendor key per state"
    );

    let client = reqwest::Client::new();
    let mut licenses = Vec::new();
    for (host, sandbox) in target.states.iter().zip(&target.sandboxes) {
        let owner = sandbox.demo_owner().expect("demo owner");
        let facilities = client
            .get(host.base_url.join("facilities/v2/").unwrap())
            .basic_auth(host.vendor_key.expose_secret(), Some(&owner.api_key))
            .send()
            .await
            .unwrap();
        assert_eq!(facilities.status(), 200, "{}", host.code);
        let body: Vec<serde_json::Value> = facilities.json().await.unwrap();
        assert_eq!(
            body.len(),
            6,
            "one demo license of each type in {}",
            host.code
        );
        licenses.push(body);

        // Another vendor key is refused, like Metrc refuses unregistered integrators.
        let stranger = client
            .get(host.base_url.join("facilities/v2/").unwrap())
            .basic_auth("some-other-vendor", Some(&owner.api_key))
            .send()
            .await
            .unwrap();
        assert_eq!(stranger.status(), 401);
    }
    let numbers = |body: &[serde_json::Value]| -> Vec<String> {
        body.iter()
            .map(|f| {
                f["License"]["Number"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let (ca, co) = (numbers(&licenses[0]), numbers(&licenses[1]));
    assert!(
        ca.iter().all(|n| !co.contains(n)),
        "each state has its own licenses: {ca:?} {co:?}"
    );

    // The owner's Colorado key is not California's: Metrc accounts are per state.
    let co_owner = target.sandboxes[1].demo_owner().expect("demo owner");
    let refused = client
        .get(target.states[0].base_url.join("facilities/v2/").unwrap())
        .basic_auth(
            target.states[0].vendor_key.expose_secret(),
            Some(&co_owner.api_key),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn real_metrc_needs_a_vendor_key() {
    let err = args(Some("https://api-ca.metrc.com"), &["CA"])
        .start()
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, StartError::MissingVendorKey));
    assert!(err.to_string().contains("METRC_VENDOR_KEY"));
}
