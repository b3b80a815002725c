"""What users' tests and ours share: waiting for an outcome (on the embedded AWS's clock or in
real time), and the pytest plugin that deploys a CDK app on the embedded AWS for a test session."""
