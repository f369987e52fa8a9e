// Command grader grades a Lab 7 (sidecar logging) submission on a Kubernetes cluster and writes its reports.
//
//	grader --submission DIR [--out DIR] [--rubric FILE] [--exercise ex1,ex2,ex3] [--kubeconfig F] [--context C]
//	       [--keep] [--pass-score N] [--static-only] [--verbose]
//	grader --submissions DIR [--parallel N] [--out DIR] [--rubric FILE] [--exercise ...] [--kubeconfig F]
//	       [--context C] [--keep] [--static-only] [--verbose]
//	grader cluster up|down|status
//
// Without --kubeconfig it brings up (or reuses) the local kind cluster "sidecar-lab", building or pulling the
// images it needs first. Exit codes: 0 full score (or at --pass-score), 1 graded below it, 2 usage error,
// 3 the grader or the cluster failed (no score should be recorded).
//
// --submissions grades a whole class: every sub-directory of DIR is one submission (hidden ones are ignored), graded
// --parallel at a time; each one's reports go to OUT/<name>/, and the class reports (class.csv, checks.csv,
// class.html) to OUT. A batch exits 0 (it is a report, not a verdict), or 3 when any submission's grading errored.
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
              [--timeout 15m]
       grader --submissions DIR [--parallel N] [--out DIR] [--rubric FILE] [--exercise ex1,ex2,ex3]
              [--kubeconfig FILE] [--context NAME] [--keep] [--static-only] [--verbose] [--timeout 15m]
       grader cluster up|down|status|clean

One submission: exit 0 full score (or --pass-score reached), 1 graded below it, 2 usage error,
3 the grader or the cluster failed (no score should be recorded).
A class (--submissions): every sub-directory of DIR is a submission (hidden ones are ignored); each one's
reports go to OUT/<name>/, the class reports (class.csv, checks.csv, class.html) to OUT. Exit 0 once
graded (a batch is a report, not a pass/fail), 2 usage error, 3 if any submission's grading errored.
--parallel defaults to what the cluster's free CPU and memory allow (1..4); the exercises graded at once share them.
--timeout bounds each submission's grading (wall clock); an exercise's scenario is bounded to 8 minutes.`

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
	subs := fs.String("submissions", "", "grade a whole class: every sub-directory of this directory is one submission")
	parallel := fs.Int("parallel", 0, "with --submissions: how many submissions are graded at once (default: what the cluster's free CPU and memory allow, 1..4)")
	out := fs.String("out", "grader-out", "where the reports are written")
	rubricFile := fs.String("rubric", "", "an instructor's rubric file (points, disabled checks, deadlines)")
	exercises := fs.String("exercise", "", "grade only these exercises, comma-separated (ex1,ex2,ex3)")
	kubeconfig := fs.String("kubeconfig", "", "grade on this cluster instead of the local kind cluster")
	kctx := fs.String("context", "", "the kubeconfig context to use")
	keep := fs.Bool("keep", false, "keep the exercises' namespaces after grading")
	passScore := fs.Int("pass-score", 0, "exit 0 from this score on (default: the maximum)")
	staticOnly := fs.Bool("static-only", false, "run only the static checks (no cluster)")
	verbose := fs.Bool("verbose", false, "show the scenarios' debug lines")
	timeout := fs.Duration("timeout", grader.DefaultSubmissionTimeout, "wall-clock limit of one submission's grading; past it, the checks still running are errors (exit 3)")
	if err := fs.Parse(args); err != nil {
		return report.ExitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	batch := *subs != ""
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "grader: unexpected argument %q: the grader takes no other arguments than its flags\n", fs.Arg(0))
		fmt.Fprintln(stderr, usage)
		return report.ExitUsage
	case *sub != "" && batch, set["submission"] && set["submissions"]:
		fmt.Fprintln(stderr, "grader: --submission and --submissions are mutually exclusive (one submission, or a directory of them)")
		return report.ExitUsage
	case !batch && *sub == "":
		fmt.Fprintln(stderr, "grader: --submission DIR is required (or --submissions DIR to grade a whole class)")
		fmt.Fprintln(stderr, usage)
		return report.ExitUsage
	case !batch && set["parallel"]:
		fmt.Fprintln(stderr, "grader: --parallel applies to --submissions only")
		return report.ExitUsage
	case batch && set["pass-score"]:
		fmt.Fprintln(stderr, "grader: --pass-score applies to --submission only: a batch exits 0 once graded (3 if any grading errored)")
		return report.ExitUsage
	case *timeout <= 0:
		fmt.Fprintf(stderr, "grader: --timeout %s: want a positive duration such as 15m\n", *timeout)
		return report.ExitUsage
	case *parallel < 0:
		fmt.Fprintf(stderr, "grader: --parallel %d: want 1 or more (or leave it out for the default)\n", *parallel)
		return report.ExitUsage
	}
	if batch {
		if fi, err := os.Stat(*subs); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "grader: --submissions %s is not a directory\n", *subs)
			return report.ExitUsage
		}
		if _, err := grader.ClassSubmissions(*subs, *out); err != nil {
			fmt.Fprintf(stderr, "grader: --submissions: %v\n", err)
			return report.ExitUsage
		}
	} else if fi, err := os.Stat(*sub); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "grader: --submission %s is not a directory\n", *sub)
		return report.ExitUsage
	}
	opts := []grader.Option{grader.WithKeep(*keep), grader.WithSubmissionTimeout(*timeout)}
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
	if !batch { // a batch prints one line per submission instead
		var mu sync.Mutex
		opts = append(opts, grader.WithProgress(func(ex string, c result.Check) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(stdout, report.ProgressLine(ex, c))
		}))
	}

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

	if batch {
		if infra != nil {
			fmt.Fprintln(stderr, "grader: no submission was graded")
			return report.ExitError
		}
		return runBatch(ctx, *subs, *out, *parallel, *staticOnly, r, opts, stdout, stderr)
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

// runBatch grades every submission of the class in dir (grader.GradeClass) and writes the class reports into out.
// parallel 0 lets grader.DefaultParallel choose. It exits 0 once graded, 3 when any submission's grading errored or
// a report could not be written, 2 when the class cannot be graded as laid out.
func runBatch(ctx context.Context, dir, out string, parallel int, static bool, r *rubric.Rubric, opts []grader.Option, stdout, stderr io.Writer) int {
	names, err := grader.ClassSubmissions(dir, out)
	if err != nil {
		fmt.Fprintf(stderr, "grader: --submissions: %v\n", err)
		return report.ExitUsage
	}
	if parallel == 0 {
		n, why, err := grader.DefaultParallel(ctx, dir, opts...)
		if err != nil {
			why = fmt.Sprintf("%s (%v)", why, err)
		}
		parallel = n
		fmt.Fprintf(stdout, "Parallel: %d at a time (default: %s; set --parallel to choose)\n", n, why)
	} else {
		fmt.Fprintf(stdout, "Parallel: %d at a time (--parallel)\n", parallel)
	}
	if !static {
		if b, why, err := grader.MeasureBudget(ctx, opts...); err != nil {
			fmt.Fprintf(stdout, "Budget: none, the cluster's free CPU and memory could not be measured (%v)\n", err)
		} else {
			opts = append(opts[:len(opts):len(opts)], grader.WithBudget(b))
			fmt.Fprintf(stdout, "Budget: %s, shared by the exercises graded at once (one waits while others hold its pods' requests)\n", why)
		}
	}
	fmt.Fprintf(stdout, "Grading %d submissions in %s (grader %s, rubric %s)\n", len(names), dir, grader.Version, r.Name)
	c, err := grader.GradeClass(ctx, dir, grader.ClassOptions{Parallel: parallel, Out: out,
		OnDone: func(p grader.ClassProgress) { fmt.Fprintln(stdout, p.Line()) }}, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "grader: --submissions: %v\n", err)
		return report.ExitUsage
	}
	if err := report.WriteClass(out, c.Report()); err != nil {
		fmt.Fprintf(stderr, "grader: writing the class reports: %v\n", err)
		return report.ExitError
	}
	var errored []string
	for _, s := range c.Submissions {
		if s.Result == nil || s.Result.Status == result.StatusError || s.ReportErr != nil {
			errored = append(errored, grader.Printable(s.Name))
		}
	}
	took := c.Duration.Round(time.Second).String()
	if c.Duration < 10*time.Second {
		took = fmt.Sprintf("%.1fs", c.Duration.Seconds())
	}
	fmt.Fprintf(stdout, "\n%d submissions graded in %s, %d at a time; %d errored\n", len(c.Submissions), took, c.Parallel, len(errored))
	fmt.Fprintf(stdout, "Reports written to %s: %s, %s, %s and one folder per submission\n", out,
		report.ClassHTMLFile, report.ClassCSVFile, report.ChecksCSVFile)
	if ctx.Err() != nil || c.Errored() {
		fmt.Fprintf(stderr, "grader: the grading of %d submissions errored, so no score should be recorded for them: %s\n",
			len(errored), strings.Join(errored, ", "))
		return report.ExitError
	}
	return report.ExitPass
}

func clusterCmd(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: grader cluster up|down|status|clean")
		return report.ExitUsage
	}
	switch args[0] {
	case "clean":
		return cleanCmd(ctx, stderr)
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
		fmt.Fprintln(stderr, "usage: grader cluster up|down|status|clean")
		return report.ExitUsage
	}
	return 0
}

// cleanCmd deletes every namespace gradings made on the local kind cluster (those of killed runs expire on their
// own after 30 minutes; this is for when no grading runs and the cluster should be empty now).
func cleanCmd(ctx context.Context, stderr io.Writer) int {
	if !cluster.Exists(cluster.DefaultName) {
		fmt.Fprintf(stderr, "kind cluster %q does not exist: nothing to clean\n", cluster.DefaultName)
		return 0
	}
	cs, err := (&cluster.Cluster{Name: cluster.DefaultName, Kubeconfig: cluster.KubeconfigPath(cluster.DefaultName)}).Clientset()
	if err != nil {
		fmt.Fprintf(stderr, "grader: %v (run 'grader cluster up' to write it)\n", err)
		return report.ExitError
	}
	n, err := grader.DeleteManagedNamespaces(ctx, cs)
	if err != nil {
		fmt.Fprintf(stderr, "grader: %v\n", err)
		return report.ExitError
	}
	fmt.Fprintf(stderr, "deleted %d namespaces made by gradings (label %s=true); any grading still running has lost them\n", n, grader.LabelManaged)
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
