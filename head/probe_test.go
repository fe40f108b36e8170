package head_test

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/optimize"

	"finetuner/featio"
	"finetuner/head"
)

// The features are real: CenterNet-MobileNetV3 (480-d) features of 220 photos from Debian's
// tuxpaint-stamps-default in 7 classes, made by scripts/probe-testdata.sh.
func loadTux(t *testing.T) *head.Dataset {
	ds, err := featio.Load("testdata/tux-centernet.npy", "testdata/tux-centernet.txt")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// lbfgsOptimum minimises mean CE + λ/2‖W‖² in float64 with gonum's L-BFGS to a tight tolerance,
// on the standardised training rows, and returns (W (C,D), b (C)) flattened like Model.Params.
func lbfgsOptimum(t *testing.T, x []float64, y []int32, D, C int, lambda float64) ([]float64, float64, func([]float64) float64) {
	n := len(y)
	f := func(p, grad []float64) float64 {
		w, b := p[:C*D], p[C*D:]
		if grad != nil {
			clear(grad)
		}
		var loss float64
		z := make([]float64, C)
		for i := 0; i < n; i++ {
			xi := x[i*D : i*D+D]
			m := math.Inf(-1)
			for c := 0; c < C; c++ {
				s := b[c]
				for k, v := range xi {
					s += w[c*D+k] * v
				}
				z[c] = s
				m = math.Max(m, s)
			}
			var se float64
			for c := range z {
				se += math.Exp(z[c] - m)
			}
			loss += math.Log(se) + m - z[y[i]]
			if grad != nil {
				for c := range z {
					g := math.Exp(z[c]-m) / se
					if c == int(y[i]) {
						g--
					}
					g /= float64(n)
					for k, v := range xi {
						grad[c*D+k] += g * v
					}
					grad[C*D+c] += g
				}
			}
		}
		loss /= float64(n)
		for k, v := range w {
			loss += 0.5 * lambda * v * v
			if grad != nil {
				grad[k] += lambda * v
			}
		}
		return loss
	}
	p := make([]float64, C*D+C)
	res, err := optimize.Minimize(optimize.Problem{
		Func: func(p []float64) float64 { return f(p, nil) },
		Grad: func(g, p []float64) { f(p, g) },
	}, p, &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: 5000,
		Converger: &optimize.FunctionConverge{Relative: 1e-13, Iterations: 20}}, &optimize.LBFGS{})
	if err != nil && res == nil {
		t.Fatal(err)
	}
	return res.X, res.F, func(p []float64) float64 { return f(p, nil) }
}

// TestAutoProbeMatchesLBFGS: the auto probe must land within 0.5 accuracy points of the float64
// L-BFGS optimum at the strength it chose, on the same features and split: with fewer rows than
// half the features (480-d: solved in the rows' span), and with more rows than features (the
// first 24 features: solved in the features).
func TestAutoProbeMatchesLBFGS(t *testing.T) {
	ds := loadTux(t)
	t.Run("rows<features", func(t *testing.T) { probeMatchesLBFGS(t, ds) })
	t.Run("rows>features", func(t *testing.T) { probeMatchesLBFGS(t, firstFeatures(ds, 24)) })
}

// firstFeatures is ds with only its first d features.
func firstFeatures(ds *head.Dataset, d int) *head.Dataset {
	narrow := &head.Dataset{N: ds.N, D: d, Y: ds.Y, Group: ds.Group, Labels: ds.Labels, X: make([]float32, ds.N*d)}
	for i := 0; i < ds.N; i++ {
		copy(narrow.X[i*d:i*d+d], ds.X[i*ds.D:])
	}
	return narrow
}

func probeMatchesLBFGS(t *testing.T, ds *head.Dataset) {
	cfg := head.Config{ValFraction: 0.25, Seed: 3}
	var trials []head.Event
	var heads []*head.Model // the head handed over with each trial, by OnHead
	ctl := head.NewControl()
	ctl.OnHead = func(h *head.Model, e head.Event) {
		if e.Kind != "trial" || len(heads) != len(trials) {
			t.Errorf("OnHead with a %q event after %d heads and %d trial events; want each trial's head before its event", e.Kind, len(heads), len(trials))
		}
		heads = append(heads, h)
	}
	m, rep, err := head.AutoProbe(context.Background(), ds, cfg, ctl, func(e head.Event) {
		if e.Kind == "trial" {
			trials = append(trials, e)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) < 3 || len(trials) > len(head.ProbeLambdas)+2 {
		t.Fatalf("%d trials, want 3 to %d", len(trials), len(head.ProbeLambdas)+2)
	}
	for _, e := range trials {
		t.Logf("trial λ=%.3g after %d iterations: val acc %.2f%% loss %.4f", e.Lambda, e.Epoch, 100*e.ValAcc, e.ValLoss)
	}
	t.Logf("%d L-BFGS iterations in all", rep.Epochs)
	train, val := head.Split(ds.Y, len(ds.Labels), 0.25, 3)
	D, C := ds.D, len(ds.Labels)
	std := func(rows []int32) ([]float64, []int32) {
		x := make([]float64, len(rows)*D)
		y := make([]int32, len(rows))
		for i, r := range rows {
			for k := 0; k < D; k++ {
				x[i*D+k] = (float64(ds.X[int(r)*D+k]) - float64(m.Mean[k])) / float64(m.Std[k])
			}
			y[i] = ds.Y[r]
		}
		return x, y
	}
	xtr, ytr := std(train)
	xval, yval := std(val)
	opt, fOpt, objective := lbfgsOptimum(t, xtr, ytr, D, C, rep.Lambda)
	acc := func(p []float64) float64 {
		ok := 0
		for i := range yval {
			best, bz := 0, math.Inf(-1)
			for c := 0; c < C; c++ {
				s := p[C*D+c]
				for k := 0; k < D; k++ {
					s += p[c*D+k] * xval[i*D+k]
				}
				if s > bz {
					best, bz = c, s
				}
			}
			if best == int(yval[i]) {
				ok++
			}
		}
		return float64(ok) / float64(len(yval))
	}
	ours := make([]float64, len(m.Params))
	for i, v := range m.Params {
		ours[i] = float64(v)
	}
	refAcc := acc(opt)
	fOurs := objective(ours)
	t.Logf("auto probe: λ=%.3g val acc %.2f%% objective %.6f | float64 L-BFGS optimum at that λ: val acc %.2f%%, objective %.6f",
		rep.Lambda, 100*rep.ValAcc, fOurs, 100*refAcc, fOpt)
	if (fOurs-fOpt)/fOpt > 1e-3 {
		t.Fatalf("the probe's objective %.6f is %.2g above the optimum %.6f", fOurs, (fOurs-fOpt)/fOpt, fOpt)
	}
	if math.Abs(acc(ours)-rep.ValAcc) > 1e-9 {
		t.Fatalf("report says %.4f, the weights give %.4f", rep.ValAcc, acc(ours))
	}
	if math.Abs(rep.ValAcc-refAcc) > 0.005 {
		t.Fatalf("auto probe val acc %.2f%% is more than 0.5 points from the L-BFGS optimum's %.2f%%", 100*rep.ValAcc, 100*refAcc)
	}
	if rep.ValAcc < 0.4 {
		t.Fatalf("val accuracy %.2f on 7 classes of real photo features; the features or the probe are broken", rep.ValAcc)
	}
	// Each trial hands over the best head so far; the last one is the head the probe settled on
	// before its final, tighter fit, so it predicts the validation rows as well as that trial said.
	best := trials[0]
	if len(heads) != len(trials) {
		t.Fatalf("%d heads handed over for %d trials", len(heads), len(trials))
	}
	for i, e := range trials {
		if heads[i] == nil {
			t.Fatalf("trial λ=%g handed over no head", e.Lambda)
		}
		if e.ValAcc > best.ValAcc || (e.ValAcc == best.ValAcc && e.ValLoss < best.ValLoss) {
			best = e
		}
		if heads[i] == m {
			t.Fatal("a trial handed over the model the probe goes on changing")
		}
	}
	probs := make([]float32, len(val)*C)
	x := make([]float32, len(val)*D)
	for i, r := range val {
		copy(x[i*D:i*D+D], ds.X[int(r)*D:])
	}
	if err := heads[len(heads)-1].Predict(probs, x, len(val)); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i, r := range val {
		if head.Argmax(probs[i*C:i*C+C]) == int(ds.Y[r]) {
			ok++
		}
	}
	if got := float64(ok) / float64(len(val)); math.Abs(got-best.ValAcc) > 1e-9 {
		t.Fatalf("the last trial's head gives val acc %.4f, the best trial said %.4f", got, best.ValAcc)
	}
}

// TestAutoProbeCancel: a probe cancelled during its first fit returns a usable head (its last
// iterate, finite) with the report saying so.
func TestAutoProbeCancel(t *testing.T) {
	ds := loadTux(t)
	ctl := head.NewControl()
	steps := 0
	m, rep, err := head.AutoProbe(context.Background(), ds, head.Config{ValFraction: 0.2, Seed: 1}, ctl, func(e head.Event) {
		if e.Kind == "step" {
			if steps++; steps == 3 {
				ctl.Cancel()
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Cancelled || rep.Epochs > 4 {
		t.Fatalf("cancelled after 3 steps: report says cancelled=%v after %d iterations", rep.Cancelled, rep.Epochs)
	}
	for _, v := range m.Params {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("the cancelled probe's head has non-finite weights")
		}
	}
	if rep.TrainAcc < 0.5 {
		t.Fatalf("the head after 3 iterations fits %.0f%% of the training rows; it is not the last iterate", 100*rep.TrainAcc)
	}
}

// TestAutoProbeHandsOverClosedFormFirst: the first head handed over comes before any L-BFGS step
// (the closed-form ridge head) and predicts the validation rows as its event says; every later
// hand-over is at least as accurate on them, on both sizes of problem (rows' span and features).
func TestAutoProbeHandsOverClosedFormFirst(t *testing.T) {
	full := loadTux(t)
	for _, ds := range []*head.Dataset{full, firstFeatures(full, 24)} {
		_, val := head.SplitGroups(ds.Y, ds.Group, len(ds.Labels), 0.2, 1)
		xv := make([]float32, 0, len(val)*ds.D)
		for _, r := range val {
			xv = append(xv, ds.X[int(r)*ds.D:int(r+1)*ds.D]...)
		}
		accuracy := func(m *head.Model) float64 {
			probs := make([]float32, len(val)*m.C)
			if err := m.Predict(probs, xv, len(val)); err != nil {
				t.Fatal(err)
			}
			right := 0
			for i, r := range val {
				if head.Argmax(probs[i*m.C:i*m.C+m.C]) == int(ds.Y[r]) {
					right++
				}
			}
			return float64(right) / float64(len(val))
		}
		steps := 0
		var accs []float64
		ctl := head.NewControl()
		ctl.OnHead = func(m *head.Model, e head.Event) {
			acc := accuracy(m)
			if len(accs) == 0 {
				if steps != 0 || e.Kind != "trial" || math.Abs(acc-e.ValAcc) > 1e-9 {
					t.Errorf("D=%d: first head after %d steps, kind %q, accuracy %.4f, its event says %.4f", ds.D, steps, e.Kind, acc, e.ValAcc)
				}
			} else if acc < accs[len(accs)-1] {
				t.Errorf("D=%d: hand-over %d is less accurate (%.4f) than the one before (%.4f)", ds.D, len(accs), acc, accs[len(accs)-1])
			}
			accs = append(accs, acc)
		}
		_, rep, err := head.AutoProbe(context.Background(), ds, head.Config{ValFraction: 0.2, Seed: 1}, ctl, func(e head.Event) {
			if e.Kind == "step" {
				steps++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(accs) < 2 || accs[0] < 0.4 {
			t.Fatalf("D=%d: hand-overs %v; the closed-form head should already beat chance (1/7) well", ds.D, accs)
		}
		t.Logf("D=%d: closed-form head %.1f%%, hand-overs %v, final %.1f%%", ds.D, 100*accs[0], accs, 100*rep.ValAcc)
	}
}
