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
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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
	Doc       int // 1-based position of its YAML document in the file
	Kind      string
	Name      string
	Namespace string
	Raw       *unstructured.Unstructured

	// Typed views, set for the kinds the lab uses.
	Pod       *corev1.Pod
	ConfigMap *corev1.ConfigMap
	PVC       *corev1.PersistentVolumeClaim
}

// File is one exercise's manifest as found in the submission.
type File struct {
	Exercise string // the file's base name, e.g. "basic-sidecar"
	Path     string // the path read, "" when missing
	Objects  []*Object
	// Err is why the file could not be used (missing, too large, not YAML, ...); it names the file and the problem.
	Err error
}

// Load finds and parses base.yaml or base.yml in dir.
func Load(dir, base string, lim Limits) *File {
	f := &File{Exercise: base}
	var found []string
	for _, ext := range []string{".yaml", ".yml"} {
		p := filepath.Join(dir, base+ext)
		if fi, err := os.Lstat(p); err == nil {
			if !fi.Mode().IsRegular() {
				f.Err = fmt.Errorf("%s is not a regular file", base+ext)
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
	fh, err := os.Open(f.Path)
	if err != nil {
		f.Err = fmt.Errorf("%s cannot be read: %v", name, err)
		return f
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, lim.MaxFileBytes+1))
	if err != nil {
		f.Err = fmt.Errorf("%s cannot be read: %v", name, err)
		return f
	}
	if int64(len(data)) > lim.MaxFileBytes {
		f.Err = fmt.Errorf("%s is larger than %d bytes; a lab manifest is a few KiB", name, lim.MaxFileBytes)
		return f
	}
	f.Objects, f.Err = Parse(data, lim)
	if f.Err != nil {
		f.Err = fmt.Errorf("%s: %w", name, f.Err)
	}
	return f
}

// Parse splits data into YAML documents and decodes each into Kubernetes objects (a v1 List is expanded).
func Parse(data []byte, lim Limits) ([]*Object, error) {
	if !isText(data) {
		return nil, errors.New("the file is not text (it holds binary data), so it cannot be YAML")
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*Object
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d cannot be read: %v", doc, err)
		}
		if doc > lim.MaxDocuments {
			return nil, fmt.Errorf("more than %d YAML documents; a lab manifest has a handful", lim.MaxDocuments)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d is not valid YAML: %v", doc, err)
		}
		got, err := decode(js, doc)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	if len(objs) == 0 {
		return nil, errors.New("the file declares no Kubernetes objects")
	}
	return objs, nil
}

func decode(js []byte, doc int) ([]*Object, error) {
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return nil, fmt.Errorf("document %d cannot be decoded: %v", doc, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document %d is a %s, not a Kubernetes object (a mapping with apiVersion, kind and metadata)", doc, jsonType(v))
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetKind() == "" || u.GetAPIVersion() == "" {
		return nil, fmt.Errorf("document %d has no kind or apiVersion", doc)
	}
	if u.GetKind() == "List" {
		items, _ := m["items"].([]any)
		var out []*Object
		for _, it := range items {
			b, err := json.Marshal(it)
			if err != nil {
				return nil, err
			}
			got, err := decode(b, doc)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	o := &Object{Doc: doc, Kind: u.GetKind(), Name: u.GetName(), Namespace: u.GetNamespace(), Raw: u}
	if o.Name == "" && u.GetGenerateName() == "" {
		return nil, fmt.Errorf("document %d (%s) has no metadata.name", doc, o.Kind)
	}
	if u.GetAPIVersion() == "v1" {
		var err error
		switch o.Kind {
		case "Pod":
			o.Pod = &corev1.Pod{}
			err = json.Unmarshal(js, o.Pod)
		case "ConfigMap":
			o.ConfigMap = &corev1.ConfigMap{}
			err = json.Unmarshal(js, o.ConfigMap)
		case "PersistentVolumeClaim":
			o.PVC = &corev1.PersistentVolumeClaim{}
			err = json.Unmarshal(js, o.PVC)
		}
		if err != nil {
			return nil, fmt.Errorf("document %d (%s %q) does not fit the Kubernetes schema: %v", doc, o.Kind, o.Name, err)
		}
	}
	return []*Object{o}, nil
}

// Find returns the object of the given kind and name, or nil.
func (f *File) Find(kind, name string) *Object {
	for _, o := range f.Objects {
		if o.Kind == kind && o.Name == name {
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
	if len(f.Objects) == 0 {
		return "no objects"
	}
	var s []string
	for _, o := range f.Objects {
		s = append(s, o.Kind+"/"+o.Name)
	}
	return strings.Join(s, ", ")
}

func isText(b []byte) bool {
	return !bytes.ContainsRune(b, 0)
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
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
