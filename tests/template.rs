//! `template.yaml` deploys what the README promises: provided.al2023 on arm64 built by
//! cargo-lambda, a Function URL, JSON logs with retention, and a role that reads exactly one
//! secret. The check runs SAM's own transform (tests/template_check.py, through cfn-lint's
//! SAM translator); `cfn-lint template.yaml` itself runs in CI.

use std::process::Command;

#[test]
fn the_sam_template_grants_one_secret_and_deploys_an_arm64_function_url() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/template_check.py");
    let output = Command::new("python3")
        .arg(script)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("python3 must be installed");
    assert!(
        output.status.success(),
        "template check failed (needs cfn-lint: `pip install -r requirements-dev.txt`):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "template.yaml: ok"
    );
}
