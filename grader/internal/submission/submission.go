// Package submission reads a student's submission directory: it finds each exercise's manifest, bounds its size,
// splits and decodes its YAML documents defensively, and exposes the objects typed for the checks. Nothing here
// touches a cluster.
package submission

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Limits bound what is read from a submission before anything is parsed.
type Limits struct {
	MaxFileBytes int64 // a manifest larger than this is refused unread
	MaxDocuments int   // a manifest with more YAML documents than this is refused
}

// DefaultLimits are the limits RUBRIC.md and the security policy ask for.
var DefaultLimits = Limits{MaxFileBytes: 1 << 20, MaxDocuments: 50}

// Object is one Kubernetes object declared in a manifest.
type Object struct {
	Doc       int // 1-based position of its YAML document among the file's non-empty documents
	Item      int // 1-based position inside a List document, 0 when the document is the object itself
	Kind      string
	Name      string
	Namespace string
	Raw       *unstructured.Unstructured

	// Typed views, set for the v1 kinds the lab uses or the policy allows. They are decoded the way the API server
	// decodes: field names are case-sensitive, and unknown or duplicate fields make the file invalid.
	Pod       *corev1.Pod
	ConfigMap *corev1.ConfigMap
	PVC       *corev1.PersistentVolumeClaim
	Service   *corev1.Service
	Secret    *corev1.Secret
}

// Where names the object for messages: "document 2 (Pod web-with-sidecar)", with the List item when there is one.
func (o *Object) Where() string {
	pos := fmt.Sprintf("document %d", o.Doc)
	if o.Item > 0 {
		pos += fmt.Sprintf(", List item %d", o.Item)
	}
	name := o.Name
	if name == "" {
		name = "(no name)"
	}
	return fmt.Sprintf("%s (%s %s)", pos, o.Kind, name)
}

// maxStrictErrors bounds how many unknown or duplicate fields one message lists.
const maxStrictErrors = 5

// File is one exercise's manifest as found in the submission.
type File struct {
	Exercise string // the file's base name, e.g. "basic-sidecar"
	Path     string // the path read, "" when missing
	Objects  []*Object
	// Err is why the file could not be used (missing, too large, not YAML, ...); it names the file and the problem.
	Err error
}

// Load finds and parses base.yaml or base.yml in dir, and applies the security policy (see Violations). Problems a
// student can fix (missing file, too large, not YAML, an object declared twice, refused by the policy: a
// *PolicyError) are in the returned File's Err, which names the file; Load itself never fails. A refused file keeps
// its Objects, for messages.
func Load(dir, base string, lim Limits) *File {
	f := &File{Exercise: base}
	var found []string
	for _, ext := range []string{".yaml", ".yml"} {
		p := filepath.Join(dir, base+ext)
		if fi, err := os.Lstat(p); err == nil {
			if !fi.Mode().IsRegular() {
				f.Err = fmt.Errorf("%s is not a regular file (a directory, a symlink or a device); submit a plain YAML file", base+ext)
				return f
			}
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		f.Err = fmt.Errorf("%s.yaml is missing from the submission (%s.yml is accepted too)", base, base)
		return f
	case 2:
		f.Err = fmt.Errorf("both %s.yaml and %s.yml exist; keep only one", base, base)
		return f
	}
	f.Path = found[0]
	name := filepath.Base(f.Path)
	data, err := readBounded(f.Path, lim.MaxFileBytes)
	if err != nil {
		f.Err = fmt.Errorf("%s cannot be read: %w", name, err)
		return f
	}
	if int64(len(data)) > lim.MaxFileBytes {
		f.Err = fmt.Errorf("%s is larger than %d bytes; a lab manifest is a few KiB", name, lim.MaxFileBytes)
		return f
	}
	f.Objects, f.Err = Parse(data, lim)
	if f.Err != nil {
		f.Err = fmt.Errorf("%s: %w", name, f.Err)
		return f
	}
	if v := f.objectViolations(); len(v) > 0 {
		f.Err = &PolicyError{File: name, Violations: v}
	}
	return f
}

// readBounded reads at most max+1 bytes of the file at p, so that an oversized file is detected without reading it.
func readBounded(p string, max int64) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return data, nil
}

// Parse splits data into YAML documents and decodes each into Kubernetes objects (a List is expanded, once: a List
// inside a List is refused). At most lim.MaxDocuments documents, and as many objects, are accepted.
func Parse(data []byte, lim Limits) ([]*Object, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*Object
	for doc := 0; ; {
		raw, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the file cannot be split into YAML documents (at the end of document %d): %w; "+
				"put each `---` on a line of its own", doc+1, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		doc++
		if doc > lim.MaxDocuments {
			return nil, fmt.Errorf("more than %d YAML documents; a lab manifest has a handful", lim.MaxDocuments)
		}
		if err := checkAliases(raw, 4*lim.MaxFileBytes); err != nil {
			return nil, fmt.Errorf("document %d is refused: %w", doc, err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d is not valid YAML: %w", doc, err)
		}
		got, err := decode(js, doc, 0)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
		if len(objs) > lim.MaxDocuments {
			return nil, fmt.Errorf("more than %d objects (counting List items); a lab manifest has a handful", lim.MaxDocuments)
		}
	}
	if len(objs) == 0 {
		return nil, errors.New("the file declares no Kubernetes objects")
	}
	if err := checkDuplicates(objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// checkDuplicates refuses two objects of the same kind and name: kubectl would apply both in turn, so the last
// would silently win, while the checks read the first.
func checkDuplicates(objs []*Object) error {
	seen := map[string]*Object{}
	for _, o := range objs {
		if o.Name == "" {
			continue // generateName: a new object each time
		}
		k := o.Kind + "/" + o.Name
		if first, dup := seen[k]; dup {
			return fmt.Errorf("%s and %s declare the same object; keep one (kubectl would apply both, and the last would win)",
				first.Where(), o.Where())
		}
		seen[k] = o
	}
	return nil
}

// decode turns one JSON document (or List item, item > 0) into objects.
func decode(js []byte, doc, item int) ([]*Object, error) {
	where := fmt.Sprintf("document %d", doc)
	if item > 0 {
		where += fmt.Sprintf(", List item %d,", item)
	}
	var v any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &v); err != nil {
		return nil, fmt.Errorf("%s cannot be decoded: %w", where, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a Kubernetes object (a mapping with apiVersion, kind and metadata)", where, jsonType(v))
	}
	if md, present := m["metadata"]; present {
		if _, isMap := md.(map[string]any); !isMap {
			return nil, fmt.Errorf("%s: metadata is a %s, not a mapping", where, jsonType(md))
		}
	}
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	if kind == "" || apiVersion == "" {
		return nil, fmt.Errorf("%s has no kind or apiVersion (both must be strings)", where)
	}
	u := &unstructured.Unstructured{Object: m}
	if kind == "List" {
		if item > 0 {
			return nil, fmt.Errorf("%s is a List inside a List; list the objects directly", where)
		}
		items, ok := m["items"].([]any)
		if !ok && m["items"] != nil {
			return nil, fmt.Errorf("%s: the List's items is a %s, not a list", where, jsonType(m["items"]))
		}
		var out []*Object
		for i, it := range items {
			b, err := json.Marshal(it)
			if err != nil {
				return nil, fmt.Errorf("%s, List item %d cannot be re-encoded: %w", where, i+1, err)
			}
			got, err := decode(b, doc, i+1)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	o := &Object{Doc: doc, Item: item, Kind: kind, Name: u.GetName(), Namespace: u.GetNamespace(), Raw: u}
	if o.Name == "" && u.GetGenerateName() == "" {
		return nil, fmt.Errorf("%s (%s) has no metadata.name", where, o.Kind)
	}
	if apiVersion != "v1" {
		return []*Object{o}, nil
	}
	var typed any
	switch o.Kind {
	case "Pod":
		o.Pod = &corev1.Pod{}
		typed = o.Pod
	case "ConfigMap":
		o.ConfigMap = &corev1.ConfigMap{}
		typed = o.ConfigMap
	case "PersistentVolumeClaim":
		o.PVC = &corev1.PersistentVolumeClaim{}
		typed = o.PVC
	case "Service":
		o.Service = &corev1.Service{}
		typed = o.Service
	case "Secret":
		o.Secret = &corev1.Secret{}
		typed = o.Secret
	default:
		return []*Object{o}, nil
	}
	strict, err := kjson.UnmarshalStrict(js, typed)
	if err != nil {
		return nil, fmt.Errorf("%s (%s %q) does not fit the Kubernetes schema: %w", where, o.Kind, o.Name, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s (%s %q) does not fit the Kubernetes schema (kubectl apply refuses it too): %s",
			where, o.Kind, o.Name, joinErrors(strict, maxStrictErrors))
	}
	return []*Object{o}, nil
}

// joinErrors joins at most max errors with "; ", noting how many more there were.
func joinErrors(errs []error, max int) string {
	var s []string
	for i, e := range errs {
		if i == max {
			s = append(s, fmt.Sprintf("and %d more", len(errs)-max))
			break
		}
		s = append(s, e.Error())
	}
	return strings.Join(s, "; ")
}

// Find returns the object of the given kind and name, or nil.
func (f *File) Find(kind, name string) *Object {
	if f == nil {
		return nil
	}
	for _, o := range f.Objects {
		if o != nil && o.Kind == kind && o.Name == name {
			return o
		}
	}
	return nil
}

// Pod returns the Pod named name, or nil.
func (f *File) Pod(name string) *corev1.Pod {
	if o := f.Find("Pod", name); o != nil {
		return o.Pod
	}
	return nil
}

// ConfigMap returns the ConfigMap named name, or nil.
func (f *File) ConfigMap(name string) *corev1.ConfigMap {
	if o := f.Find("ConfigMap", name); o != nil {
		return o.ConfigMap
	}
	return nil
}

// PVC returns the PersistentVolumeClaim named name, or nil.
func (f *File) PVC(name string) *corev1.PersistentVolumeClaim {
	if o := f.Find("PersistentVolumeClaim", name); o != nil {
		return o.PVC
	}
	return nil
}

// Describe lists the file's objects as "Kind/name" for messages.
func (f *File) Describe() string {
	var s, nss []string
	if f != nil {
		for _, o := range f.Objects {
			if o != nil {
				s = append(s, o.Kind+"/"+o.Name)
				if o.Namespace != "" && !slices.Contains(nss, o.Namespace) {
					nss = append(nss, o.Namespace)
				}
			}
		}
	}
	if len(s) == 0 {
		return "no objects"
	}
	out := strings.Join(s, ", ")
	if len(nss) > 0 {
		// Tell the student, rather than let them wonder where their objects went.
		out += fmt.Sprintf(" (metadata.namespace %q is not used: the grader runs each exercise in a namespace of its own)", strings.Join(nss, ", "))
	}
	return out
}

// checkText refuses data that is not UTF-8 text: binary data, or text in another encoding.
func checkText(b []byte) error {
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		return errors.New("the file is UTF-16 text; save it as UTF-8")
	case bytes.IndexByte(b, 0) >= 0:
		return errors.New("the file is not text (it holds binary data), so it cannot be YAML")
	case !utf8.Valid(b):
		return errors.New("the file is not UTF-8 text (it holds binary data or another encoding), so it cannot be YAML")
	}
	return nil
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func jsonType(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case float64, int64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// Name is the file's name for messages: the base name read, or "<exercise>.yaml" when the file is missing.
func (f *File) Name() string {
	if f == nil {
		return "(no file)"
	}
	if f.Path != "" {
		return filepath.Base(f.Path)
	}
	return f.Exercise + ".yaml"
}
