// Package provider manages the portal's SMD provider identity: the hosted
// organisations' certificates and sealed private keys, the trust anchors,
// and the directory of organisations messages can be sent to. It validates
// before anything is written and never logs or returns key material.
package provider
