// Package codec encrypts Temporal payloads so that patient data (PHI) is
// never readable in Temporal's event history without a key.
//
// Every payload a caseflow client or worker sends to Temporal (workflow and
// activity arguments, results, signals, queries, memos, and, through
// [FailureConverter], failure messages and stack traces) is serialized,
// encrypted with AES-256-GCM under the primary key of a [Keyring], and stored
// with the metadata encoding "binary/encrypted" plus the id of the key that
// encrypted it. Decoding looks the key up by that id, so rotating in a new
// primary key keeps older history readable as long as the old key stays in
// the keyring.
//
// Keys come from [LoadKeyring] (environment variables or the default key
// file .caseflow/codec.keys), and [GenerateKeyFile] creates or rotates a key
// file. [Apply] wires the codec into client options; [NewServer] exposes the
// standard remote codec HTTP endpoints (/encode, /decode) used by the
// Temporal Web UI and the temporal CLI, protected by a bearer token.
package codec
