// Package hubauth is the server side of Hub auth: the API key registry, the Hub's key and
// signature checks, owner records and the Hub users API.
package hubauth
