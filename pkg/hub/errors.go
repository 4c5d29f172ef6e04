package hub

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Classes of failure that callers map to exit codes.
var (
	// ErrUnreachable: the server could not be reached within the timeout.
	ErrUnreachable = errors.New("server unreachable")
	// ErrAuth: the server refused the API key, its signature or the user token.
	ErrAuth = errors.New("authentication refused")
	// ErrNotFound: the database (or other object) does not exist on the server.
	ErrNotFound = errors.New("not found")
	// ErrNameTaken: another of the identity's databases or threads has the name.
	ErrNameTaken = errors.New("name taken")
)

// UnreachableError says which server could not be reached, and why.
type UnreachableError struct {
	Addr   string
	Reason string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %s", e.Addr, e.Reason)
}

func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// ServerError is a refusal by the server, classified.
type ServerError struct {
	Class error // ErrAuth, ErrNotFound, or nil for anything else
	Msg   string
	Hint  string
}

func (e *ServerError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + "; " + e.Hint
}

func (e *ServerError) Is(target error) bool { return e.Class != nil && target == e.Class }

// The messages go-threads and the Hub send, which carry no more specific gRPC code.
const (
	msgAPIKeyNotFound = "API key not found or is invalid"
	msgAPIKeyRequired = "Session or API key required" // the Hub's answer to a call with no key
	msgInvalidToken   = "invalid thread token"
	msgTokenNotFound  = "thread token not found" // what go-threads says of a token it cannot parse
	msgThreadNotFound = "thread not found"
	msgDBNotFound     = "db not found"
	// msgNotAccessible is hubctl's servers' answer to a user key calling an operator's method.
	msgNotAccessible = "Method is not accessible"
	// msgNameTaken is in hubctl's servers' refusal of a name another thread of the
	// identity has (hubauth.NameTakenMessage).
	msgNameTaken = "names are unique per identity"
)

// tokenRejected reports whether the server refused the user token (so a fresh one may help).
func tokenRejected(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	return st.Code() == codes.Unauthenticated && !isAPIKeyMessage(st.Message()) ||
		strings.Contains(st.Message(), msgInvalidToken) || strings.Contains(st.Message(), msgTokenNotFound)
}

func isAPIKeyMessage(msg string) bool {
	return strings.Contains(msg, "API key")
}

// classify turns a gRPC error into one of the classes above, with a message that names the
// fix. ctx is the call's context: a deadline that passed means the server did not answer.
func classify(ctx context.Context, t Target, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	var ue *UnreachableError
	var se *ServerError
	if errors.As(err, &ue) || errors.As(err, &se) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return &UnreachableError{Addr: t.String(), Reason: fmt.Sprintf("no answer within %s (--timeout)", timeout)}
		}
		return err
	}
	msg := st.Message()
	switch {
	case st.Code() == codes.Canceled:
		return context.Canceled
	case st.Code() == codes.DeadlineExceeded:
		return &UnreachableError{Addr: t.String(), Reason: fmt.Sprintf("no answer within %s (--timeout)", timeout)}
	case st.Code() == codes.Unavailable:
		return &UnreachableError{Addr: t.String(), Reason: dialReason(msg)}
	case st.Code() == codes.Unauthenticated && msg == msgAPIKeyRequired:
		return &ServerError{Class: ErrAuth, Msg: "the server requires an API key: " + msg,
			Hint: "give one with --key and --secret (HUBCTL_KEY, HUBCTL_SECRET)"}
	case isAPIKeyMessage(msg) && (st.Code() == codes.NotFound || st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied):
		return &ServerError{Class: ErrAuth, Msg: "the server refused the API key: " + msg,
			Hint: "check --key and --secret (HUBCTL_KEY, HUBCTL_SECRET)"}
	case st.Code() == codes.PermissionDenied && msg == msgNotAccessible:
		return &ServerError{Class: ErrAuth, Msg: "the server refused the request: " + msg,
			Hint: "it is an operator's call: use an account key (hubctl keys create --type account on the daemon's host)"}
	case st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied || strings.Contains(msg, msgInvalidToken) ||
		strings.Contains(msg, msgTokenNotFound):
		return &ServerError{Class: ErrAuth, Msg: "the server refused the request: " + msg,
			Hint: "check the user token (--token, HUBCTL_TOKEN) or get a new one with hubctl token get --refresh"}
	case st.Code() == codes.AlreadyExists && strings.Contains(msg, msgNameTaken):
		return nameTaken(msg)
	case st.Code() == codes.NotFound || strings.Contains(msg, msgThreadNotFound) || strings.Contains(msg, msgDBNotFound):
		return &ServerError{Class: ErrNotFound, Msg: msg}
	case st.Code() == codes.ResourceExhausted && strings.Contains(msg, "limit reached:"):
		return &ServerError{Msg: "the server refused the request: " + msg}
	case st.Code() == codes.Unimplemented:
		return &ServerError{Msg: "the server does not offer this call: " + msg, Hint: "is --api a ThreadDB server?"}
	default:
		return &ServerError{Msg: "server error: " + msg}
	}
}

// nameTakenRx reads the name and the thread that has it from hubctl's servers' refusal.
var nameTakenRx = regexp.MustCompile(`named "([^"]*)" already exists \(([^)]*)\)`)

// nameTaken is the refusal of a name another of the identity's threads has, in the
// command line's words.
func nameTaken(msg string) error {
	m := nameTakenRx.FindStringSubmatch(msg)
	if m == nil {
		return &ServerError{Class: ErrNameTaken, Msg: msg, Hint: "give another with --name"}
	}
	return &ServerError{Class: ErrNameTaken,
		Msg:  fmt.Sprintf("the name %q is taken by %s (names are unique per identity, ignoring case)", m[1], m[2]),
		Hint: "give another with --name, or use that one"}
}

// dialReason keeps the useful end of gRPC's dial errors ("connection refused", "no such
// host") rather than its layers of "connection error: desc = transport: ...".
func dialReason(msg string) string {
	msg = strings.Trim(msg, `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		tail := strings.Trim(msg[i+2:], `"`)
		if tail != "" {
			return tail
		}
	}
	return msg
}
