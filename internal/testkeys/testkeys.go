// Package testkeys holds the payload encryption keys of caseflow's tests and
// recorded test histories. They protect nothing: never use them for real
// data.
package testkeys

// Spec is the CASEFLOW_CODEC_KEYS value tests run with.
const Spec = "test-k1:Y2FzZWZsb3ctdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="

// Wrong is a keyring that shares no key with Spec: a worker misconfigured
// with it cannot read anything written under Spec.
const Wrong = "test-wrong:Y2FzZWZsb3ctd3Jvbmcta2V5LTMyLWJ5dGVzLWxvbmc="
