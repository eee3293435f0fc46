// Package testkeys holds the payload encryption key of caseflow's tests and
// recorded test histories. It protects nothing: never use it for real data.
package testkeys

// Spec is the CASEFLOW_CODEC_KEYS value tests run with.
const Spec = "test-k1:Y2FzZWZsb3ctdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="
