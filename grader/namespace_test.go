package grader

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestCollectLeftoversTakesOnlyExpiredNamespaces(t *testing.T) {
	now := time.Now()
	ns := func(name string, created time.Time, expiry string, managed bool) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{}, Annotations: map[string]string{}}}
		if managed {
			n.Labels[LabelManaged] = "true"
		}
		if expiry != "" {
			n.Annotations[AnnotationExpiry] = expiry
		}
		return n
	}
	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	cs := fake.NewClientset(
		ns("expired", now.Add(-time.Hour), unix(now.Add(-time.Minute)), true),
		ns("live", now.Add(-time.Minute), unix(now.Add(29*time.Minute)), true),
		ns("fresh-no-annotation", now.Add(-time.Second), "", true),
		ns("old-no-annotation", now.Add(-2*time.Hour), "", true),
		ns("garbled-and-fresh", now, "soon", true),
		ns("not-ours", now.Add(-48*time.Hour), unix(now.Add(-time.Hour)), false),
	)
	n, err := CollectLeftovers(context.Background(), cs)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	l, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	var left []string
	for _, x := range l.Items {
		left = append(left, x.Name)
	}
	assert.ElementsMatch(t, []string{"live", "fresh-no-annotation", "garbled-and-fresh", "not-ours"}, left)
}

func TestDeleteManagedNamespaces(t *testing.T) {
	live := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{LabelManaged: "true"}, Annotations: map[string]string{AnnotationExpiry: live}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{LabelManaged: "true"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
	)
	n, err := DeleteManagedNamespaces(context.Background(), cs)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "every managed namespace, live or not")
	l, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	assert.Equal(t, "kube-system", l.Items[0].Name)
}
