package hubauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	mbase "github.com/multiformats/go-multibase"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// incoming builds the metadata a Hub client sends: key, and a signature of date made with
// secret, the date formatted as layout.
func incoming(key, secret string, date time.Time, layout string) context.Context {
	md := metadata.Pairs("x-textile-api-key", key)
	if secret != "" {
		_, sec, err := mbase.Decode(secret)
		if err != nil {
			panic(err)
		}
		msg := date.Format(layout)
		mac := hmac.New(sha256.New, sec)
		mac.Write([]byte(msg))
		sig, _ := mbase.Encode(mbase.Base32, mac.Sum(nil))
		md.Append("x-textile-api-sig", sig)
		md.Append("x-textile-api-sig-msg", msg)
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

// jsLayout is how the JS clients format the date: milliseconds and Z.
const jsLayout = "2006-01-02T15:04:05.000Z07:00"

func TestCheckFollowsTheHub(t *testing.T) {
	reg := OpenRegistry(t.TempDir())
	secure, err := reg.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	open, err := reg.Create(CreateOptions{Type: AccountKey})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := reg.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Revoke(revoked.Key); err != nil {
		t.Fatal(err)
	}
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 1, 6, 31, 45e6, time.UTC)
	c := &Checker{Keys: kr, MaxSigTTL: time.Hour, Now: func() time.Time { return now }}
	other, _ := mbase.Encode(mbase.Base32, make([]byte, 24))

	tests := []struct {
		name string
		ctx  context.Context
		code codes.Code
		msg  string
	}{
		{"Go date (whole seconds)", incoming(secure.Key, secure.Secret, now.Add(30*time.Minute), time.RFC3339), codes.OK, ""},
		{"JS date (milliseconds)", incoming(secure.Key, secure.Secret, now.Add(30*time.Minute), jsLayout), codes.OK, ""},
		{"insecure key without signature", incoming(open.Key, "", time.Time{}, ""), codes.OK, ""},
		{"no key", metadata.NewIncomingContext(context.Background(), metadata.MD{}), codes.Unauthenticated, "Session or API key required"},
		{"an empty key", metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-textile-api-key", "")), codes.Unauthenticated, "Session or API key required"},
		{"unknown key", incoming("bunknownkey", "", time.Time{}, ""), codes.NotFound, "API key not found or is invalid"},
		{"revoked key", incoming(revoked.Key, revoked.Secret, now.Add(time.Minute), time.RFC3339), codes.NotFound, "API key not found or is invalid"},
		{"secure key without signature", incoming(secure.Key, "", time.Time{}, ""), codes.Unauthenticated, "API key signature required"},
		{"wrong secret", incoming(secure.Key, other, now.Add(time.Minute), time.RFC3339), codes.Unauthenticated, "Bad API key signature"},
		{"date in the past", incoming(secure.Key, secure.Secret, now.Add(-time.Second), time.RFC3339), codes.Unauthenticated, "Bad API key signature"},
		{"date beyond the max TTL", incoming(secure.Key, secure.Secret, now.Add(time.Hour+time.Second), time.RFC3339), codes.Unauthenticated, "Bad API key signature"},
		{"date not RFC 3339", incoming(secure.Key, secure.Secret, now.Add(time.Minute), time.RFC1123), codes.Unauthenticated, "Bad API key signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := c.Check(tt.ctx)
			st := status.Convert(err)
			if st.Code() != tt.code || (tt.msg != "" && st.Message() != tt.msg) {
				t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if err == nil && key.Key == "" {
				t.Fatal("accepted without returning the key")
			}
		})
	}
}

// The check accepts exactly what textile's own client code signs, and textile's own
// validator accepts what the check accepts.
func TestCheckAgreesWithTextile(t *testing.T) {
	reg := OpenRegistry(t.TempDir())
	k, err := reg.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := common.CreateAPISigContext(common.NewAPIKeyContext(context.Background(), k.Key), time.Now().Add(time.Minute), k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// What common.Credentials would put on the wire.
	md, err := common.Credentials{}.GetRequestMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := metadata.NewIncomingContext(context.Background(), metadata.New(md))
	if _, err := (&Checker{Keys: kr}).Check(in); err != nil {
		t.Fatalf("textile-signed request refused: %v", err)
	}
	msg, sig, _ := common.APISigFromMD(in)
	if !common.ValidateAPISigContext(common.NewAPISigContext(context.Background(), msg, sig), k.Secret) {
		t.Fatal("textile's validator disagrees")
	}
}

// BenchmarkCheck is the per-call cost of the key and signature check on the daemon.
func BenchmarkCheck(b *testing.B) {
	reg := OpenRegistry(b.TempDir())
	k, err := reg.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		b.Fatal(err)
	}
	kr, err := reg.Watch(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	c := &Checker{Keys: kr}
	ctx := incoming(k.Key, k.Secret, time.Now().Add(time.Hour), time.RFC3339)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
