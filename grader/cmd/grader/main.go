// Command grader grades a Lab 7 (sidecar logging) submission on a Kubernetes cluster and writes its reports.
//
//	grader --submission DIR [--out DIR] [--rubric FILE] [--exercise ex1,ex2,ex3] [--kubeconfig F] [--context C]
//	       [--keep] [--pass-score N] [--static-only] [--verbose]
//	grader cluster up|down|status
//
// Without --kubeconfig it brings up (or reuses) the local kind cluster "sidecar-lab", building or pulling the
// images it needs first. Exit codes: 0 full score (or at --pass-score), 1 graded below it, 2 usage error,
// 3 the grader or the cluster failed (no score should be recorded).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/cluster"
	"github.com/sidecar-lab/grader/grader/internal/exercises/advisory"
	"github.com/sidecar-lab/grader/grader/internal/rubric"
	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: grader --submission DIR [--out DIR] [--rubric FILE] [--exercise ex1,ex2,ex3]
              [--kubeconfig FILE] [--context NAME] [--keep] [--pass-score N] [--static-only] [--verbose]
       grader cluster up|down|status`

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "cluster" {
		return clusterCmd(ctx, args[1:], stderr)
	}
	fs := flag.NewFlagSet("grader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	sub := fs.String("submission", "", "the submission directory (holding basic-sidecar.yaml, advanced-sidecar.yaml, persistent-sidecar.yaml)")
	out := fs.String("out", "grader-out", "where the reports are written")
	rubricFile := fs.String("rubric", "", "an instructor's rubric file (points, disabled checks, deadlines)")
	exercises := fs.String("exercise", "", "grade only these exercises, comma-separated (ex1,ex2,ex3)")
	kubeconfig := fs.String("kubeconfig", "", "grade on this cluster instead of the local kind cluster")
	kctx := fs.String("context", "", "the kubeconfig context to use")
	keep := fs.Bool("keep", false, "keep the exercises' namespaces after grading")
	passScore := fs.Int("pass-score", 0, "exit 0 from this score on (default: the maximum)")
	staticOnly := fs.Bool("static-only", false, "run only the static checks (no cluster)")
	verbose := fs.Bool("verbose", false, "show the scenarios' debug lines")
	if err := fs.Parse(args); err != nil {
		return report.ExitUsage
	}
	if *sub == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "grader: --submission DIR is required (and takes no other arguments)")
		fmt.Fprintln(stderr, usage)
		return report.ExitUsage
	}
	if fi, err := os.Stat(*sub); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "grader: --submission %s is not a directory\n", *sub)
		return report.ExitUsage
	}
	opts := []grader.Option{grader.WithKeep(*keep)}
	r := rubric.Default()
	if *rubricFile != "" {
		var err error
		if r, err = rubric.Load(*rubricFile); err != nil {
			fmt.Fprintf(stderr, "grader: %v\n", err)
			return report.ExitUsage
		}
		known := map[string]bool{}
		for _, d := range grader.Exercises() {
			for _, c := range d.Checks {
				known[c.ID] = true
			}
		}
		for _, c := range advisory.Checks {
			known[c.ID] = true
		}
		if unknown := r.Unknown(known); len(unknown) > 0 {
			fmt.Fprintf(stderr, "grader: rubric %s names checks that do not exist: %s\n", *rubricFile, strings.Join(unknown, ", "))
			return report.ExitUsage
		}
		if r.PassScore > 0 && *passScore == 0 {
			*passScore = r.PassScore
		}
	}
	opts = append(opts, grader.WithRubric(r))
	if *exercises != "" {
		ids := strings.Split(*exercises, ",")
		for _, id := range ids {
			if id != "ex1" && id != "ex2" && id != "ex3" {
				fmt.Fprintf(stderr, "grader: unknown exercise %q in --exercise (want ex1, ex2, ex3)\n", id)
				return report.ExitUsage
			}
		}
		opts = append(opts, grader.WithExercises(ids...))
	}
	if *verbose {
		opts = append(opts, grader.WithLog(stderr))
	}
	var mu sync.Mutex
	opts = append(opts, grader.WithProgress(func(ex string, c result.Check) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(stdout, report.ProgressLine(ex, c))
	}))

	var infra error
	switch {
	case *staticOnly:
		opts = append(opts, grader.WithStaticOnly())
	case *kubeconfig != "":
		o, err := grader.WithKubeconfig(*kubeconfig, *kctx)
		if err != nil {
			fmt.Fprintf(stderr, "grader: %v\n", err)
			return report.ExitUsage
		}
		opts = append(opts, o)
	default:
		kc, err := localCluster(ctx, stderr)
		if err != nil {
			infra = err
			fmt.Fprintf(stderr, "grader: the grading cluster is not available: %v\n", err)
		} else {
			o, err := grader.WithKubeconfig(kc, "")
			if err != nil {
				infra = err
			} else {
				opts = append(opts, o)
			}
		}
	}

	fmt.Fprintf(stdout, "Grading %s (grader %s, rubric %s)\n", *sub, grader.Version, r.Name)
	s := grader.Grade(ctx, *sub, opts...)
	if infra != nil {
		msg := "cluster unavailable: " + infra.Error()
		s.Status, s.Error = result.StatusError, &msg
	}
	if ctx.Err() != nil {
		msg := "interrupted: grading was stopped before it finished"
		s.Status, s.Error = result.StatusError, &msg
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, report.Table(s))
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		for _, a := range report.Annotations(s) {
			fmt.Fprintln(stdout, a)
		}
	}
	if err := report.WriteAll(*out, s); err != nil {
		fmt.Fprintf(stderr, "grader: writing reports: %v\n", err)
		return report.ExitError
	}
	fmt.Fprintf(stdout, "Reports written to %s\n", *out)
	code := report.ExitCode(s, *passScore)
	if code == report.ExitError && s.Error != nil {
		fmt.Fprintf(stderr, "grader: the grader or the cluster failed, so no score should be recorded: %s\n", *s.Error)
	}
	return code
}

func clusterCmd(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: grader cluster up|down|status")
		return report.ExitUsage
	}
	switch args[0] {
	case "up":
		if _, err := localCluster(ctx, stderr); err != nil {
			fmt.Fprintf(stderr, "grader: %v\n", err)
			return report.ExitError
		}
	case "down":
		if err := cluster.Delete(cluster.WithLog(stderr)); err != nil {
			fmt.Fprintf(stderr, "grader: %v\n", err)
			return report.ExitError
		}
	case "status":
		if !cluster.Exists(cluster.DefaultName) {
			fmt.Fprintf(stderr, "kind cluster %q does not exist ('make cluster' creates it)\n", cluster.DefaultName)
			return 1
		}
		fmt.Fprintf(stderr, "kind cluster %q exists\n", cluster.DefaultName)
	default:
		fmt.Fprintln(stderr, "usage: grader cluster up|down|status")
		return report.ExitUsage
	}
	return 0
}

// localCluster makes sure Docker runs, the images exist and the kind cluster is up; it returns the kubeconfig.
func localCluster(ctx context.Context, log io.Writer) (string, error) {
	root := repoRoot()
	if err := exec.Command("docker", "info").Run(); err != nil && root != "" {
		if err := script(ctx, log, root, "grader/cluster/scripts/ensure-docker.sh"); err != nil {
			return "", err
		}
	}
	if !cluster.Exists(cluster.DefaultName) && root != "" && !imagesReady() {
		fmt.Fprintln(log, "[cluster] images missing: building or pulling them (make images) ...")
		if err := script(ctx, log, root, "grader/cluster/scripts/images.sh"); err != nil {
			return "", err
		}
	}
	c, err := cluster.Ensure(ctx, cluster.WithLog(log))
	if err != nil {
		return "", err
	}
	return c.Kubeconfig, nil
}

// imagesReady reports whether the lab images and the node image the scripts recorded are on this host.
func imagesReady() bool {
	imgs := append([]string{}, cluster.LabImages...)
	node := cluster.DefaultNodeImage()
	if node == "" {
		return false
	}
	imgs = append(imgs, node)
	for _, img := range imgs {
		if exec.Command("docker", "image", "inspect", img).Run() != nil {
			return false
		}
	}
	return true
}

func script(ctx context.Context, log io.Writer, root, rel string) error {
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, rel))
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed after %s: %w", rel, time.Since(t0).Round(time.Second), err)
	}
	return nil
}

// repoRoot finds the grader's repository (for its image and docker scripts): $SIDECAR_LAB_REPO, or the nearest
// parent of the working directory holding this module's go.mod.
func repoRoot() string {
	if r := os.Getenv("SIDECAR_LAB_REPO"); r != "" {
		return r
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/sidecar-lab/grader\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

var _ = errors.New
