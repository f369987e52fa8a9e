package kube

// Telling the cluster's failures from the student's: an error talking to the API server (the connection refused or
// reset, the transport's EOF, a timeout, an HTTP 5xx or 429 the API server answers for itself) is an InfraError, so
// that the grading ends in "error" (exit 3, no score) rather than in failed checks. Errors that are answers about
// the student's objects (400, 403, 404, 409, 422; an exec whose container is not running) stay plain errors.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// connectionFailures are the texts of transport failures as they reach the grader flattened into a string (client-go's
// SPDY executor formats the dial error with %v, so errors.Is cannot see it). They are matched only in errors that
// are not API status answers, whose messages may quote the student's objects.
var connectionFailures = []string{
	"connection refused",
	"connection reset",
	"broken pipe",
	"i/o timeout",
	"tls handshake timeout",
	"no route to host",
	"network is unreachable",
	"no such host",
	"http2: client connection lost",
	"http2: server sent goaway",
	"use of closed network connection",
	"server closed idle connection",
	"unexpected eof",
	"context deadline exceeded",
	"client.timeout exceeded",
	"timeout awaiting response headers",
	"the server is currently unable to handle the request",
	"error sending request", // client-go's SPDY executor: the exec request never got an answer
	"unable to read error from server response",
	"502 bad gateway",
	"503 service unavailable",
	"504 gateway timeout",
}

// IsConnectionFailure reports whether err is a failure to talk to the API server, or the API server's own failure,
// rather than its answer about the submission's objects: a refused, reset or closed connection, EOF on the
// transport, a timeout, an HTTP 5xx or 429 status, "the server is currently unable to handle the request". A
// context cancelled by the grader is not one (the caller is stopping).
func IsConnectionFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ie *InfraError
	if errors.As(err, &ie) {
		return true
	}
	// An API status is the API server's answer: judge it by its code, never by its text (which may quote the
	// student's manifest).
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		code := st.Status().Code
		return code >= 500 || code == 429 || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
			apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) {
		return true // the request never got an answer (client-go returns *url.Error only for transport failures)
	}
	msg := strings.ToLower(err.Error())
	if msg == "eof" || strings.HasSuffix(msg, ": eof") {
		return true
	}
	for _, s := range connectionFailures {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Classify returns err as an InfraError (with what the grader was doing, in doing, prefixed) when it is a connection
// failure (IsConnectionFailure), else err as it is. An InfraError is returned unchanged.
func Classify(err error, doing string) error {
	if err == nil || IsInfra(err) || !IsConnectionFailure(err) {
		return err
	}
	return &InfraError{Err: fmt.Errorf("%s: the API server could not be reached or failed: %w", doing, err)}
}

// callerDeadline reports whether err comes from the caller's deadline rather than from the cluster: ctx is done, or
// client-go's client-side rate limiter refused to wait for a request because the wait would outlast ctx's deadline
// ("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline"), which it says a
// little before that deadline passes, so ctx.Err() is still nil then.
func callerDeadline(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	if err == nil || !strings.Contains(err.Error(), "would exceed context deadline") {
		return false
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < limiterSlack
}

// limiterSlack is how close to the caller's deadline a rate limiter's refusal must come to be the caller's: a limiter
// that would make a request wait longer than this is throttling the grader (the cluster's side).
const limiterSlack = 5 * time.Second

// OnlyInfra returns err when it is an InfraError and nil otherwise: in a Poll condition, a student's failure means
// "not yet, try again", a cluster's failure means "stop, the grading cannot go on".
func OnlyInfra(err error) error {
	if IsInfra(err) {
		return err
	}
	return nil
}

// apiProbeTimeout bounds apiAnswers' request (a variable so that tests can shorten it).
var apiProbeTimeout = 5 * time.Second

// apiAnswers reports whether the API server answers a trivial request (GET /version, readable by every identity)
// within a few seconds; the grader asks when an exec or a log read timed out, to tell a hung container (the
// student's) from a hung API server (the cluster's).
func (s *Session) apiAnswers(ctx context.Context) error {
	if s.Client == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiProbeTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := s.Client.Discovery().ServerVersion(); done <- err }()
	select {
	case err := <-done:
		return err
	case <-cctx.Done():
		return fmt.Errorf("GET /version got no answer within %s", apiProbeTimeout)
	}
}
