package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"finetuner/featio"
	"finetuner/head"
)

func init() {
	register("eval", "head + features + labels → accuracy, per-class metrics, confusion matrix", runEval)
	register("predict", "head + features → predicted class and probability per row (CSV)", runPredict)
}

// loadHeadAndFeatures reads a head file and a features file and checks they fit together.
func loadHeadAndFeatures(headPath, featPath string) (*head.Model, []float32, int, error) {
	b, err := os.ReadFile(headPath)
	if err != nil {
		return nil, nil, 0, err
	}
	m, err := head.ReadModel(b)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %v", headPath, err)
	}
	x, n, d, err := featio.ReadFeatures(featPath)
	if err != nil {
		return nil, nil, 0, err
	}
	if d != m.D {
		from := ""
		if m.Meta.BackboneID != "" {
			from = fmt.Sprintf(" (it was trained on %s features)", m.Meta.BackboneID)
		}
		return nil, nil, 0, fmt.Errorf("%s has %d features per row but the head expects %d%s", featPath, d, m.D, from)
	}
	if n == 0 {
		return nil, nil, 0, fmt.Errorf("%s has no rows", featPath)
	}
	if err := head.CheckFinite(x, d); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %v", featPath, err)
	}
	return m, x, n, nil
}

func runEval(args []string) error {
	fl := flag.NewFlagSet("eval", flag.ContinueOnError)
	headPath := fl.String("head", "head.safetensors", "head file")
	feats := fl.String("features", "features.npy", "feature rows (.npy)")
	labels := fl.String("labels", "labels.txt", "true labels, one per row")
	asJSON := fl.Bool("json", false, "print the metrics as JSON")
	if err := fl.Parse(args); err != nil {
		return err
	}
	m, x, n, err := loadHeadAndFeatures(*headPath, *feats)
	if err != nil {
		return err
	}
	names, err := featio.ReadLabelsFile(*labels)
	if err != nil {
		return err
	}
	if len(names) != n {
		return fmt.Errorf("%s has %d rows but %s has %d labels", *feats, n, *labels, len(names))
	}
	y, err := featio.Index(names, m.Labels)
	if err != nil {
		return fmt.Errorf("%s: %v (the head knows only these)", *labels, err)
	}
	probs := make([]float32, n*m.C)
	if err := m.Predict(probs, x, n); err != nil {
		return err
	}
	pred := make([]int32, n)
	var loss float64
	correct := 0
	for i := range pred {
		p := probs[i*m.C : i*m.C+m.C]
		pred[i] = int32(head.Argmax(p))
		if pred[i] == y[i] {
			correct++
		}
		loss -= logf(p[y[i]])
	}
	cm := head.Confusion(y, pred, m.C)
	pc := head.PerClass(cm, m.Labels)
	acc := float64(correct) / float64(n)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"rows": n, "accuracy": acc, "loss": loss / float64(n), "perClass": pc, "confusion": cm, "labels": m.Labels})
	}
	fmt.Fprintf(stdout, "%d rows: accuracy %.2f%%, loss %.4f\n", n, 100*acc, loss/float64(n))
	printClassTable(stdout, pc, cm, "eval")
	return nil
}

func runPredict(args []string) error {
	fl := flag.NewFlagSet("predict", flag.ContinueOnError)
	headPath := fl.String("head", "head.safetensors", "head file")
	feats := fl.String("features", "features.npy", "feature rows (.npy)")
	topk := fl.Int("top", 1, "classes to print per row")
	if err := fl.Parse(args); err != nil {
		return err
	}
	m, x, n, err := loadHeadAndFeatures(*headPath, *feats)
	if err != nil {
		return err
	}
	k := min(max(*topk, 1), m.C)
	probs := make([]float32, n*m.C)
	if err := m.Predict(probs, x, n); err != nil {
		return err
	}
	fmt.Fprint(stdout, "row")
	for j := 1; j <= k; j++ {
		fmt.Fprintf(stdout, ",class%d,prob%d", j, j)
	}
	fmt.Fprintln(stdout)
	order := make([]int, m.C)
	for i := 0; i < n; i++ {
		p := probs[i*m.C : i*m.C+m.C]
		for c := range order {
			order[c] = c
		}
		for a := 0; a < k; a++ { // partial selection sort: k is small
			best := a
			for b := a + 1; b < m.C; b++ {
				if p[order[b]] > p[order[best]] {
					best = b
				}
			}
			order[a], order[best] = order[best], order[a]
		}
		fmt.Fprint(stdout, i)
		for _, c := range order[:k] {
			fmt.Fprintf(stdout, ",%s,%.6f", csvField(m.Labels[c]), p[c])
		}
		fmt.Fprintln(stdout)
	}
	return nil
}
